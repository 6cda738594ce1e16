"""Audio of any file as the authors' DeepSpeech feature code sees it: 16 kHz mono, int16 (dp1) or float (dp2)."""
from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

import numpy as np

from talkingface.errors import MediaError

#: the sample rate both DeepSpeech models were trained on
RATE = 16000
PCM_SCALE = np.float32(32768.0)  # torchaudio's normalisation of 16-bit PCM


def read_pcm(path: str | os.PathLike[str]) -> tuple[int, np.ndarray]:
    """(rate, int16 samples of shape (n,) or (n, channels)) at the file's own rate and channels.

    A 16-bit PCM wav is read with scipy, as the authors read it (``scipy.io.wavfile.read``); any other file (mp3,
    m4a, a video, a float or 24-bit wav) is decoded to 16-bit PCM by the kit's pinned ffmpeg, keeping its rate and
    channels. A file without samples raises MediaError.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: audio file not found")
    rate, samples = 0, None
    if path.suffix.lower() == ".wav":
        from scipy.io import wavfile

        try:
            rate, data = wavfile.read(path)
        except (ValueError, OSError, EOFError):
            data = None  # not a plain PCM wav scipy reads: decode it with ffmpeg below
        if data is not None and data.dtype == np.int16:
            samples = data
    if samples is None:
        rate, samples = _decode_ffmpeg(path)
    if samples.shape[0] == 0:
        raise MediaError(f"{path}: the audio has 0 samples (0-length audio): DeepSpeech features need sound")
    return int(rate), samples


def _decode_ffmpeg(path: Path) -> tuple[int, np.ndarray]:
    from talkingface.media.ffmpeg import run_ffmpeg
    from talkingface.media.probe import require_audio

    info = require_audio(path, "DeepSpeech features need an audio track")
    if info.audio_sample_rate <= 0 or info.audio_channels <= 0:
        raise MediaError(f"{path}: audio stream without a sample rate or channel count")
    raw = run_ffmpeg(["-i", info.path, "-map", "0:a:0", "-vn", "-f", "s16le", "-acodec", "pcm_s16le", "-"],
                     f"{path}: cannot decode audio", stdout=subprocess.PIPE)
    samples = np.frombuffer(raw, dtype="<i2").astype(np.int16)
    channels = info.audio_channels
    samples = samples[: samples.size // channels * channels].reshape(-1, channels)
    return info.audio_sample_rate, samples[:, 0] if channels == 1 else samples


def _resample(x: np.ndarray, rate: int) -> np.ndarray:
    """``resampy.resample(x, rate, 16000)`` (kaiser_best) of a 1-D signal, computed the same whatever ran before.

    resampy's inner loop is a numba gufunc compiled on first use for the input's dtype; called later with another
    dtype it reuses a loop it can cast to (int16 input after a float64 call runs the float64 loop: the output then
    differs in the last float32 bit, and after int16 truncation by one step). The authors resample once per process,
    so their int16 (dp2) and float64 (dp1) results are each dtype's own loop. Here the loop is a numba ``jit`` of
    resampy's own ``_resample_loop``, which compiles one specialisation per dtype: the same numbers in any order.
    """
    try:
        import resampy  # noqa: F401 - the filters and the loop below are resampy's
        from resampy.filters import get_filter
        from resampy.interpn import _resample_loop
    except ImportError:  # pragma: no cover - resampy is a dependency of the lawdnet extra
        raise MediaError(f"resampling {rate} Hz audio needs resampy (pip install talkingface-kit[lawdnet])") from None
    n_out = int(x.shape[0] * float(RATE) / float(rate))
    if n_out < 1:
        raise MediaError(f"cannot resample {x.shape[0]} samples at {rate} Hz to {RATE} Hz: too short")
    ratio = float(RATE) / rate
    y = np.zeros(n_out, dtype=np.float32 if np.issubdtype(x.dtype, np.integer) else x.dtype)
    win, precision, _ = get_filter("kaiser_best")
    if ratio < 1:
        win = ratio * win
    delta = np.diff(win, append=win[-1])
    t_out = np.arange(n_out) * (1.0 / ratio)
    _jit_loop(_resample_loop)(np.ascontiguousarray(x), t_out, win, delta, precision, min(1.0, ratio), y)
    return y


@functools.lru_cache(maxsize=1)
def _jit_loop(loop):
    import numba

    return numba.jit(nopython=True, nogil=True)(loop)


def dp1_signal(rate: int, samples: np.ndarray) -> np.ndarray:
    """The int16 16 kHz signal of the authors' ``utils/deep_speech.py``: first channel; resampy (kaiser_best) on
    float64 when the rate is not 16 kHz; then ``.astype(np.int16)`` — truncation toward zero, no clipping."""
    x = samples if samples.ndim == 1 else samples[:, 0]
    x = x.astype(np.float64)
    if rate != RATE:
        x = _resample(x, rate)
    return x.astype(np.int16)


def dp2_signal(rate: int, samples: np.ndarray) -> np.ndarray:
    """The float32 16 kHz signal the authors' ``extract_deepspeech_pytorch2.py`` feeds its spectrogram.

    Not 16 kHz: first channel, resampy on the int16 samples (float32 out), ``.astype(np.int16)``, written back to
    the wav and read by torchaudio (``/ 32768``). 16 kHz: the file is read by torchaudio as it is, so a stereo file
    is the mean of its channels (torchaudio's ``load_audio`` averages), not the first channel.
    """
    if rate != RATE:
        x = samples if samples.ndim == 1 else samples[:, 0]
        x = _resample(np.ascontiguousarray(x), rate).astype(np.int16)
        return x.astype(np.float32) / PCM_SCALE
    x = samples.astype(np.float32) / PCM_SCALE
    return x if x.ndim == 1 else x.mean(axis=1, dtype=np.float32)


def load_dp1_signal(path: str | os.PathLike[str]) -> np.ndarray:
    """:func:`read_pcm` then :func:`dp1_signal`: the int16 16 kHz mono samples dp1 works on."""
    return dp1_signal(*read_pcm(path))


def load_dp2_signal(path: str | os.PathLike[str]) -> np.ndarray:
    """:func:`read_pcm` then :func:`dp2_signal`: the float32 16 kHz mono samples dp2 works on."""
    return dp2_signal(*read_pcm(path))
