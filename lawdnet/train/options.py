"""LawDNet training settings: the authors' ``DINetTrainingOptions`` with each stage's experiment overrides, as YAML.

    cfg = load_stage_config("frame_64")                       # config/lawdnet/frame_64.yaml
    cfg = load_stage_config("my.yaml", overrides=["batch_size=2"])

The four stages (``config/lawdnet/{frame_64,frame_128,frame_256,clip_256}.yaml``) hold the values of the authors'
``config/config.py`` and ``config/experiment/config_experiment_*.py``; the field names are theirs. ``init_from`` names
the stage whose last checkpoint starts this one (their ``coarse_model_path`` / ``pretrained_frame_DINet_path``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from talkingface.config import load_config
from talkingface.errors import ConfigError

STAGES = ("frame_64", "frame_128", "frame_256", "clip_256")
CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "lawdnet"


@dataclass
class ModelOptions:
    source_channel: int = 3
    ref_channel: int = 15
    audio_channel: int = 29
    warp_layer_num: int = 2
    num_kpoints: int = 5
    coarse_grid_size: int = 60
    D_num_blocks: int = 4
    D_block_expansion: int = 64
    D_max_features: int = 256


@dataclass
class StageConfig:
    """One training stage (the authors' option names)."""

    stage: str = "frame"                  # frame | clip
    mouth_region_size: int = 64
    augment_num: int = 32
    batch_size: int = 16
    init_from: str | None = None
    non_decay: int = 5
    decay: int = 5
    start_epoch: int = 1
    checkpoint: int = 1
    lr_g: float = 1e-4
    lr_dI: float = 1e-4
    lamb_perception: float = 10
    lamb_syncnet_perception: float = 0.1
    lambda_img: float = 1
    lambda_g_dI: float = 1
    lambda_g_dV: float = 1
    seed: int = 456
    num_workers: int = 2
    features: str = "dp2"
    syncnet: str | None = None
    model: ModelOptions = field(default_factory=ModelOptions)

    @property
    def epochs(self) -> int:
        """Epochs of the stage: the authors loop ``start_epoch … start_epoch + non_decay + decay − 1``."""
        return self.non_decay + self.decay

    def check(self, where: str) -> None:
        """ConfigError for values the authors' code would train wrongly with."""
        if self.stage not in ("frame", "clip"):
            raise ConfigError(f"{where}: stage {self.stage!r}: expected frame or clip")
        if self.decay != self.non_decay:
            raise ConfigError(f"{where}: decay ({self.decay}) != non_decay ({self.non_decay}): the authors' README "
                              f"asks for equal values for their schedule lr x (1 - max(0, epoch - non_decay) / "
                              f"(decay + 1)); set both to the same number of epochs")
        if self.mouth_region_size % 8 or self.mouth_region_size < 16:
            raise ConfigError(f"{where}: mouth_region_size {self.mouth_region_size}: a multiple of 8, at least 16")
        if self.features not in ("dp1", "dp2"):
            raise ConfigError(f"{where}: features {self.features!r}: expected dp1 or dp2")
        for name in ("augment_num", "batch_size", "non_decay", "checkpoint", "start_epoch"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}: {name} must be at least 1, got {getattr(self, name)}")


def stage_config_path(stage_or_path: str | os.PathLike) -> Path:
    """``frame_64`` -> config/lawdnet/frame_64.yaml; a path is returned as it is."""
    text = str(stage_or_path)
    if text in STAGES:
        return CONFIG_DIR / f"{text}.yaml"
    return Path(text)


def load_stage_config(stage_or_path: str | os.PathLike, overrides=()) -> StageConfig:
    """The stage's YAML (a name of :data:`STAGES` or a path) with ``key=value`` overrides, checked."""
    path = stage_config_path(stage_or_path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such stage config (stages: {', '.join(STAGES)})")
    cfg = load_config(path, StageConfig, overrides)
    cfg.check(str(path))
    return cfg
