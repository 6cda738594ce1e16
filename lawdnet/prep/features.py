"""Steps ``--extract_deep_speech``: a video's 16 kHz wav -> dp1 / dp2 DeepSpeech rows (25 per second, 29 logits)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lawdnet.prep import layout
from talkingface.errors import KitError, MediaError
from talkingface.preprocess import Job, WorkResult


@dataclass
class FeatureWork:
    """One feature kind (dp1: the DeepSpeech v0.1 graph at ``model_path``; dp2: deepspeech.pytorch at
    ``model_path``; either a tiny random network with ``random_seed`` and no ``model_path``) of one video; the
    network is loaded once per worker process, on first use. Reads ``<AUDIO>/<video>.wav`` under ``root`` (the audio
    step's output)."""

    kind: str
    root: Path
    model_path: Path | None = None
    device: str = "cpu"
    random_seed: int | None = None
    _source: object = field(default=None, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_source": None}           # the network is never pickled to the workers

    def source(self):
        if self._source is None:
            from lawdnet.loading import load_extractor, random_extractor

            if self.random_seed is not None and self.model_path is None:
                self._source = random_extractor(self.kind, self.device, self.random_seed)
            else:
                self._source = load_extractor(self.kind, self.device, self.model_path)
        return self._source

    def __call__(self, job: Job, scratch: Path) -> WorkResult:
        video = job.id.split("/", 1)[1]
        wav = Path(self.root) / layout.AUDIO / f"{video}.wav"
        if layout.marker(self.root, "audio", video) is None or not wav.is_file():
            raise KitError(f"{video}: no audio in {layout.AUDIO}/ (run --extract_audio first, or see why it failed)")
        from lawdnet.prep.audio import sample_stats

        _, low, high = sample_stats(wav)                   # a chunk at a time, as the network reads it
        if low == high:
            raise MediaError(f"{wav}: the audio is silent (every sample is {low}): DeepSpeech "
                             "features are undefined; leave this video out")
        out = layout.feature_path(scratch, self.kind, video)
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = 0
        with out.open("w") as fh:                          # the rows of np.savetxt(out, features), block by block

            def write(block: np.ndarray) -> None:
                nonlocal rows
                if block.ndim != 2 or block.shape[1] != 29 or not np.isfinite(block).all():
                    raise MediaError(f"{wav}: {self.kind} features are not finite (T, 29) rows (a block of shape "
                                     f"{block.shape})")
                np.savetxt(fh, block)                      # the authors' np.savetxt defaults ('%.18e', spaces)
                rows += len(block)

            n16, _ = self.source().stream(wav, write)
        stats = {f"{self.kind}_rows": rows, "audio_samples_16k": int(n16),
                 "audio_seconds": round(n16 / 16000, 3), f"{self.kind}_model": self.source().label}
        frames = layout.marker(self.root, "frames", video)
        if frames is not None:
            stats["frames"] = frames.get("frames")
        return WorkResult({out.relative_to(scratch).as_posix(): out}, stats)
