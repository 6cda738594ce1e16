"""LawDNet/DINet geometry and inference settings: the face-crop size for a mouth size, and the seed's defaults."""
from __future__ import annotations

from dataclasses import dataclass

#: mouth sizes the authors trained (frame stages 64/128/256; the published LawDNet clip model uses 288)
MOUTH_SIZES = (64, 128, 256, 288)
#: the authors' FaceAlign ratio (template scale) at inference
ALIGN_RATIO = 1.6
#: the authors' seed (config.py ``seed``); their inference adds the GPU index
SEED = 456
#: the audio-feature frame rate every video is re-timed to
FPS = 25
#: the manifest entries (checkpoints/manifest.yaml) of each model's and each feature pipeline's weights
GENERATOR_WEIGHTS = {"lawdnet": "lawdnet_epoch_170", "dinet": "dinet_clip_256mouth"}
FEATURE_WEIGHTS = {"dp1": "deepspeech_graph", "dp2": "deepspeech_pytorch_librispeech"}


def crop_size(mouth: int) -> tuple[int, int]:
    """(H, W) of the generator's face crop for a mouth size: H = 3m/2 + m/8, W = m + m/4 (288 -> 468 x 360)."""
    if mouth <= 0 or mouth % 8:
        raise ValueError(f"mouth size must be a positive multiple of 8, got {mouth}")
    return mouth // 2 * 3 + mouth // 8, mouth + mouth // 4


def align_width(mouth: int) -> int:
    """The authors' inference ``out_W = int(mouth * 1.25)``: the aligned face is out_W wide and int(1.3 out_W) tall."""
    return int(mouth * 1.25)


@dataclass(frozen=True)
class InferenceConfig:
    """What `python -m lawdnet.infer` runs with (the seed's defaults); written next to every output."""

    mouth_size: int = 288
    batch_size: int = 20
    model: str = "lawdnet"          # lawdnet | dinet
    features: str = "dp2"           # dp1 (DeepSpeech v0.1 TF graph) | dp2 (deepspeech.pytorch)
    seed: int = SEED
    align_ratio: float = ALIGN_RATIO
    fps: int = FPS
