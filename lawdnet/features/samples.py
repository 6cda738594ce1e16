"""16 kHz samples read a range at a time, so that features of long audio never hold the whole signal.

    source = open_samples("speech.wav", "dp2")    # a 16 kHz 16-bit PCM wav: read from the file as needed
    source.size                                  # samples
    source.read(-160, 4000)                      # samples [-160, 4000), zeros outside [0, size)

A 16 kHz 16-bit PCM wav (what ``lawdnet.preprocess --extract_audio`` writes) is read from the file a range at a
time; anything else (another rate, mp3, a video) is decoded and resampled whole as before
(:func:`lawdnet.features.audio.read_pcm`) and served from memory. Either way the samples are those of
:func:`~lawdnet.features.audio.dp1_signal` (int16, first channel) or :func:`~lawdnet.features.audio.dp2_signal`
(float32 / 32768, the mean of the channels): both are per-sample conversions, equal a range at a time.
"""
from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

from lawdnet.features.audio import RATE, dp1_signal, dp2_signal, read_pcm
from talkingface.errors import MediaError


class ArraySamples:
    """Samples already in memory."""

    def __init__(self, signal: np.ndarray):
        self.signal = signal
        self.size = int(signal.shape[0])
        self.dtype = signal.dtype

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop), zeros where the range lies outside the signal."""
        lo, hi = max(0, start), min(self.size, stop)
        if lo == start and hi == stop:
            return self.signal[start:stop]
        out = np.zeros(max(0, stop - start), self.dtype)
        if hi > lo:
            out[lo - start:hi - start] = self.signal[lo:hi]
        return out


class WavSamples:
    """A 16 kHz 16-bit PCM wav read a range at a time (``kind`` "dp1": int16 of the first channel; "dp2": float32,
    ``/ 32768`` then the mean of the channels). Use it as a context manager or call :meth:`close`."""

    def __init__(self, path: str | os.PathLike[str], kind: str):
        self.path, self.kind = Path(path), kind
        self._fh = wave.open(str(self.path), "rb")
        self.channels = self._fh.getnchannels()
        self.size = self._fh.getnframes()
        self.dtype = np.dtype(np.int16 if kind == "dp1" else np.float32)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop), zeros where the range lies outside the file's samples."""
        out = np.zeros(max(0, stop - start), self.dtype)
        lo, hi = max(0, start), min(self.size, stop)
        if hi <= lo:
            return out
        self._fh.setpos(lo)
        raw = np.frombuffer(self._fh.readframes(hi - lo), "<i2")
        if raw.size != (hi - lo) * self.channels:
            raise MediaError(f"{self.path}: the file ends before its header's {self.size} samples (truncated?)")
        frames = raw if self.channels == 1 else raw.reshape(hi - lo, self.channels)
        out[lo - start:hi - start] = (dp1_signal if self.kind == "dp1" else dp2_signal)(RATE, frames)
        return out

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> WavSamples:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_samples(path: str | os.PathLike[str], kind: str) -> tuple[ArraySamples | WavSamples, int]:
    """(the samples of ``kind`` ("dp1"/"dp2") at 16 kHz, the file's own sample rate). A 16 kHz 16-bit PCM wav is
    read from the file as needed; any other audio is decoded and resampled whole."""
    if kind not in ("dp1", "dp2"):
        raise ValueError(f"kind must be dp1 or dp2, got {kind!r}")
    path = Path(path)
    if path.suffix.lower() == ".wav" and path.is_file():
        try:
            with wave.open(str(path), "rb") as fh:
                plain = fh.getframerate() == RATE and fh.getsampwidth() == 2 and fh.getcomptype() == "NONE"
                empty = fh.getnframes() == 0
        except (wave.Error, EOFError, OSError):
            plain = empty = False       # WAVE_FORMAT_EXTENSIBLE, float, damaged: read_pcm's paths decide
        if plain and not empty:
            return WavSamples(path, kind), RATE
    rate, samples = read_pcm(path)
    signal = dp1_signal(rate, samples) if kind == "dp1" else dp2_signal(rate, samples)
    return ArraySamples(signal), rate


def close_samples(source: ArraySamples | WavSamples) -> None:
    if isinstance(source, WavSamples):
        source.close()


__all__ = ["ArraySamples", "WavSamples", "close_samples", "open_samples"]
