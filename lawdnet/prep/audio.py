"""Step ``--extract_audio``: a video's first audio track -> ``<video>.wav``, 16 kHz mono 16-bit PCM."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lawdnet.prep import layout
from talkingface.errors import MediaError
from talkingface.preprocess import Job, WorkResult

RATE = 16000


@dataclass(frozen=True)
class AudioWork:
    """The audio step of one video (picklable; runs in a worker): the kit's ``extract_audio`` (ffmpeg's resampler,
    the authors' ``ffmpeg -i video -f wav -ar 16000``, down-mixed to mono)."""

    rate: int = RATE

    def __call__(self, job: Job, scratch: Path) -> WorkResult:
        from scipy.io import wavfile

        from talkingface.media import extract_audio, probe

        video = job.id.split("/", 1)[1]
        info = probe(job.path)
        if not info.has_audio:
            raise MediaError(f"{job.path}: has no audio stream; the LawDNet training data needs speech")
        wav = extract_audio(job.path, scratch / f"{video}.wav", self.rate)
        _, samples = wavfile.read(wav)
        if samples.shape[0] == 0:
            raise MediaError(f"{job.path}: the audio track has 0 samples")
        stats = {"audio_seconds": round(samples.shape[0] / self.rate, 3), "audio_samples": int(samples.shape[0]),
                 "audio_rate_in": info.audio_sample_rate, "audio_channels_in": info.audio_channels,
                 "silent": bool(samples.min() == samples.max())}
        return WorkResult({f"{layout.AUDIO}/{video}.wav": wav}, stats)
