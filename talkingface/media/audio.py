"""Audio of any media file: decoded to mono int16 samples (``read_audio``) or written as a PCM wav (``extract_audio``).

Both run the pinned ffmpeg's resampler, the same conversion as syncnet_python's ``ffmpeg -ac 1 -ar 16000 -acodec
pcm_s16le``.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

from talkingface.fsutil import atomic_path, prepare_output
from talkingface.media.ffmpeg import run_ffmpeg
from talkingface.media.probe import require_audio


def read_audio(path: str | os.PathLike[str], sample_rate: int = 16000) -> np.ndarray:
    """Decode the first audio stream of any media file to mono int16 at ``sample_rate`` (ffmpeg's resampler, the
    same conversion as syncnet_python's ``ffmpeg -ac 1 -ar 16000 -acodec pcm_s16le``). Returns a 1-D np.int16 array."""
    info = require_audio(path, "cannot read audio")
    raw = run_ffmpeg(["-i", info.path, "-map", "0:a:0", "-vn", "-ac", "1", "-ar", int(sample_rate),
                      "-f", "s16le", "-acodec", "pcm_s16le", "-"], f"{info.path}: cannot decode audio",
                     stdout=subprocess.PIPE)
    return np.frombuffer(raw, dtype="<i2").astype(np.int16)


def extract_audio(src: str | os.PathLike[str], dst: str | os.PathLike[str], sample_rate: int = 16000) -> Path:
    """Write the audio of ``src`` as a mono 16-bit PCM wav at ``sample_rate``, atomically. Returns ``dst``."""
    info = require_audio(src, "cannot extract audio")
    out = prepare_output(dst, info.path)
    with atomic_path(out) as tmp:
        run_ffmpeg(["-y", "-i", info.path, "-map", "0:a:0", "-vn", "-ac", "1", "-ar", int(sample_rate),
                    "-acodec", "pcm_s16le", "-f", "wav", tmp], f"{info.path}: cannot extract audio")
    return out
