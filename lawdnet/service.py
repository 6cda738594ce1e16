"""The LawDNet side of the lip-sync service (`python -m lawdnet.serve`): a :class:`talkingface.serving.Processor`.

At start (``load``, on the server's loading thread) it loads the generator and the audio-feature network once and
prepares the template video once (re-timed clip, landmarks, alignment transforms, reference crops; cached on disk by
content, :mod:`lawdnet.template`). Each job then only computes the uploaded audio's DeepSpeech features and renders
the template's frames with the new mouth (:func:`lawdnet.pipeline.write_lip_sync`): the output is 25 fps, as long as
the audio (the template plays back and forth when the audio is longer), with the uploaded audio as its sound — what
the authors' ``server_LawDNet.py`` answers, without redoing the template's work per request.

Workers share the one model: the networks run under ``torch.no_grad`` and hold no per-call state.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lawdnet import config
from lawdnet.pipeline import audio_windows_for, check_audio, write_lip_sync
from talkingface.errors import KitError, MediaError

log = logging.getLogger(__name__)


@dataclass
class LipSyncServiceConfig:
    """What the service loads: the template video and the weights (or ``random_seed`` for smoke runs)."""

    template: Path
    model: str = "lawdnet"
    features: str = "dp2"
    mouth: int = 288
    device: str = "cpu"
    generator: Path | None = None          # checkpoint in the authors' format
    feature_weights: Path | None = None    # dp1 graph / dp2 checkpoint
    random_seed: int | None = None         # RANDOM WEIGHTS instead of the two files above
    landmarks: str = "auto"
    landmarks_csv: Path | None = None
    batch_size: int = 24                   # the authors' server: BatchSize 24
    start_s: float = 0.0
    seed: int = config.SEED
    cache_dir: Path | None = None


class LipSyncProcessor:
    """``talkingface.serving.Processor`` for LawDNet (and DINet) lip-sync on one template video."""

    name = "lawdnet"
    media_type = "video/mp4"
    result_suffix = ".mp4"

    def __init__(self, cfg: LipSyncServiceConfig):
        self.cfg = cfg
        self.model = self.extractor = self.template = None
        self.weights: dict[str, Any] = {}
        self.backend_name = ""

    def load(self) -> None:
        from lawdnet.loading import load_extractor, load_lip_sync_model
        from lawdnet.template import prepare_template
        from talkingface.landmarks import make_backend

        c = self.cfg
        backend = make_backend(c.landmarks, device=c.device, csv_path=c.landmarks_csv)
        self.backend_name = backend.name
        self.model, self.weights = load_lip_sync_model(c.model, c.mouth, c.device, c.generator, c.random_seed)
        self.extractor = load_extractor(c.features, c.device, c.feature_weights, c.random_seed)
        self.template = prepare_template(c.template, backend, mouth=c.mouth, start_s=c.start_s, seed=c.seed,
                                         cache_dir=c.cache_dir)
        if self.template.misses:
            log.warning("%s: %d of %d template frames have no face; they keep the last good landmarks", c.template,
                        self.template.misses, self.template.frame_count)

    def describe(self) -> dict[str, Any]:
        c = self.cfg
        weights = ({"random": True, "label": self.weights.get("label"), "seed": c.random_seed}
                   if self.weights.get("random") else
                   {"random": False, "generator": Path(str(c.generator)).name,
                    "features": Path(str(c.feature_weights)).name})
        tpl = self.template.summary() if self.template is not None else {}
        return {"model": c.model, "features": c.features, "mouth": c.mouth, "device": c.device,
                "batch_size": c.batch_size, "fps": config.FPS, "landmarks": self.backend_name, "weights": weights,
                "template": {"video": Path(c.template).name, "frames": tpl.get("frames"), "size": tpl.get("size"),
                             "frames_without_face": tpl.get("frames_without_face")}}

    def validate(self, audio: Path) -> None:
        """Silent or empty audio has no DeepSpeech features: refused before it is queued."""
        try:
            check_audio(audio)
        except MediaError as exc:
            raise MediaError(_without_path(exc, audio)) from None

    def process(self, audio: Path, output: Path, progress: Callable[[float], None]) -> dict[str, Any]:
        if self.template is None:
            raise RuntimeError("LipSyncProcessor.process before load()")
        try:
            feats = audio_windows_for(audio, self.extractor)
        except MediaError as exc:
            raise MediaError(_without_path(exc, audio)) from None
        if feats.frames < 1:
            raise MediaError(f"the audio is too short for one video frame at {config.FPS} fps")
        progress(0.0)
        frames = write_lip_sync(self.model, self.template, feats, audio, output, self.cfg.batch_size,
                                on_frames=lambda done: progress(done / feats.frames))
        summary: dict[str, Any] = {"frames": frames, "fps": config.FPS, "audio_seconds": round(feats.seconds, 3),
                                   "audio_sample_rate": feats.sample_rate,
                                   "played_back_and_forth": feats.frames > self.template.frame_count}
        if self.weights.get("random"):
            summary["weights"] = self.weights["label"]
        return summary

    def close(self) -> None:
        if self.template is not None:
            self.template.close()


def _without_path(exc: KitError, audio: Path) -> str:
    """The error's line for the client: the server's own file path replaced by 'the audio'."""
    text = str(exc).replace(f"{audio}: ", "").replace(str(audio), "the audio")
    return text[:1].upper() + text[1:] if text else "the audio cannot be read"
