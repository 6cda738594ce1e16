"""Helpers shared by the SyncNet tests (media made with the pinned ffmpeg)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def ffmpeg(*args) -> None:
    from talkingface.media.ffmpeg import run_ffmpeg

    run_ffmpeg(["-y", *map(str, args)], "test fixture")


def noise_wav(path: Path, seconds: float, amplitude: float = 0.3, seed: int = 0) -> Path:
    import wave

    rng = np.random.default_rng(seed)
    samples = (rng.standard_normal(int(seconds * 16000)) * amplitude * 32767 / 3).clip(-32767, 32767)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.astype("<i2").tobytes())
    return path
