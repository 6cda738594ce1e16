"""Small audio files for the serving tests: WAV with the ``wave`` module, other containers with PyAV.

    write_wav(path, seconds=0.5, rate=16000)           # a 440 Hz tone, mono int16
    wav_bytes(seconds=0.5)                             # the same, in memory
    lying_wav_bytes(claim_seconds=36000)               # a WAV whose header claims 10 hours (it holds 0.1 s)
    encode(path, "flac" | "ogg" | "mp3" | "m4a" | "webm", seconds=0.3)
"""
from __future__ import annotations

import io
import struct
import wave
from pathlib import Path

import av
import numpy as np

CODECS = {"flac": ("flac", "flac"), "ogg": ("ogg", "opus"), "mp3": ("mp3", "libmp3lame"), "m4a": ("ipod", "aac"),
          "mp4": ("mp4", "aac"), "webm": ("webm", "libopus"), "mka": ("matroska", "flac")}


def tone(seconds: float, rate: int) -> np.ndarray:
    n = int(round(seconds * rate))
    return (0.5 * 32767 * np.sin(2 * np.pi * 440.0 * np.arange(n) / rate)).astype("<i2")


def wav_bytes(seconds: float = 0.5, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(tone(seconds, rate).tobytes())
    return buf.getvalue()


def write_wav(path: Path, seconds: float = 0.5, rate: int = 16000) -> Path:
    Path(path).write_bytes(wav_bytes(seconds, rate))
    return Path(path)


def lying_wav_bytes(claim_seconds: float = 36000.0, rate: int = 16000, real_seconds: float = 0.1) -> bytes:
    """A 16-bit mono WAV whose RIFF and data sizes claim ``claim_seconds`` but which holds ``real_seconds``."""
    data = tone(real_seconds, rate).tobytes()
    claimed = min(int(claim_seconds * rate * 2), 0xFFFFFFFF - 36)
    header = (b"RIFF" + struct.pack("<I", 36 + claimed) + b"WAVE" + b"fmt " +
              struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", claimed))
    return header + data


def encode(path: Path, kind: str, seconds: float = 0.3, rate: int = 48000) -> Path:
    """Write a tone in container ``kind`` (a key of CODECS) with PyAV."""
    fmt, codec = CODECS[kind]
    samples = tone(seconds, rate).reshape(1, -1)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        frame_size = stream.codec_context.frame_size or 1024
        pts = 0
        for start in range(0, samples.shape[1], frame_size):
            chunk = samples[:, start:start + frame_size]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, pts
            pts += chunk.shape[1]
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return Path(path)
