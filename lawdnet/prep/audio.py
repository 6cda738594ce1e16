"""Step ``--extract_audio``: a video's first audio track -> ``<video>.wav``, 16 kHz mono 16-bit PCM."""
from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lawdnet.prep import layout
from talkingface.errors import MediaError
from talkingface.preprocess import Job, WorkResult

RATE = 16000


def sample_stats(wav: Path, chunk: int = 1 << 20) -> tuple[int, int, int]:
    """(samples, lowest, highest) of a mono 16-bit wav, read a chunk at a time (a 2-hour track is 230 MB)."""
    count, low, high = 0, 0, 0
    with wave.open(str(wav), "rb") as fh:
        while True:
            block = np.frombuffer(fh.readframes(chunk), "<i2")
            if block.size == 0:
                return count, low, high
            low, high = (min(low, int(block.min())), max(high, int(block.max()))) if count else (
                int(block.min()), int(block.max()))
            count += block.size


@dataclass(frozen=True)
class AudioWork:
    """The audio step of one video (picklable; runs in a worker): the kit's ``extract_audio`` (ffmpeg's resampler,
    the authors' ``ffmpeg -i video -f wav -ar 16000``, down-mixed to mono)."""

    rate: int = RATE

    def __call__(self, job: Job, scratch: Path) -> WorkResult:
        from talkingface.media import extract_audio, probe

        video = job.id.split("/", 1)[1]
        info = probe(job.path)
        if not info.has_audio:
            raise MediaError(f"{job.path}: has no audio stream; the LawDNet training data needs speech")
        wav = extract_audio(job.path, scratch / f"{video}.wav", self.rate)
        count, low, high = sample_stats(wav)
        if count == 0:
            raise MediaError(f"{job.path}: the audio track has 0 samples")
        stats = {"audio_seconds": round(count / self.rate, 3), "audio_samples": count,
                 "audio_rate_in": info.audio_sample_rate, "audio_channels_in": info.audio_channels,
                 "silent": bool(low == high)}
        return WorkResult({f"{layout.AUDIO}/{video}.wav": wav}, stats)
