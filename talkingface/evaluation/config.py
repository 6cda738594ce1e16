"""The evaluation runner's options: a dataclass loaded from YAML (config/evaluate/default.yaml) via talkingface.config.

The dataclass defaults equal config/evaluate/default.yaml (a test checks it), so the library works without the file.
``shard`` (``"i/n"``) makes the process score one deterministic part of every run (docs/scale_out.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from talkingface.errors import ConfigError
from talkingface.metrics import get_spec
from talkingface.metrics.protocols import FID_DIMS, FRECHET_METHODS, LSE_MODES, NIQE_PROTOCOLS, SPECS, SSIM_PROTOCOLS
from talkingface.shards import format_shard, parse_shard

#: the metrics scored when none are named (config/evaluate/default.yaml lists the same). The paper metrics l1, akd,
#: aed and csim are asked for by name (``--metrics psnr ssim l1 akd aed csim``): akd, aed and csim need weights most
#: users lack, and l1 stays out too so that a default run's tables and cache keep the columns they had.
DEFAULT_METRICS = ("niqe", "psnr", "ssim", "lpips", "fid", "lse_c", "lse_d")
#: every metric the runner knows (the registry's table)
KNOWN_METRICS = tuple(SPECS)


@dataclass
class EvaluateConfig:
    base_dir: str = "evaluation_set"
    output_path: str = "outputs/evaluation"
    generate_dirs: list = field(default_factory=list)
    pairs: Optional[str] = None
    metrics: list = field(default_factory=lambda: list(DEFAULT_METRICS))
    device: str = "auto"
    batch_size: int = 16
    ssim_protocol: str = "standard"
    niqe_variant: str = "pyiqa"
    resize: bool = False
    save_visuals: bool = False
    max_samples: Optional[int] = None
    fid_max_frames_per_video: Optional[int] = None
    fid_dims: int = 2048
    fid_method: str = "auto"
    lse_mode: str = "whole-frame"
    report_examples: int = 3
    progress: bool = True
    shard: Optional[str] = None              # "i/n": score only the samples at positions i, i+n, i+2n, … (no reports)
    shard_wait_minutes: float = 120.0        # torchrun: how long a finished rank waits for the others

    def validate(self) -> "EvaluateConfig":
        """Normalise list-like fields and check the choices; a ConfigError names the bad key."""
        if isinstance(self.generate_dirs, str):
            self.generate_dirs = [d for d in self.generate_dirs.split(",") if d.strip()]
        self.generate_dirs = [str(d).strip() for d in (self.generate_dirs or [])]
        if isinstance(self.metrics, str):
            self.metrics = [self.metrics]
        names = [m.strip().lower() for item in (self.metrics or []) for m in str(item).split(",") if m.strip()]
        if not names:
            raise ConfigError("metrics: empty list; give at least one of " + ", ".join(DEFAULT_METRICS))
        self.metrics = list(dict.fromkeys(names))
        for name in self.metrics:
            get_spec(name)                  # an unknown name: one line listing the known ones (did you mean …?)
        for key, choices in (("ssim_protocol", tuple(SSIM_PROTOCOLS)), ("niqe_variant", tuple(NIQE_PROTOCOLS)),
                             ("lse_mode", LSE_MODES), ("fid_method", FRECHET_METHODS)):
            if getattr(self, key) not in choices:
                raise ConfigError(f"{key}: {getattr(self, key)!r} is not one of {', '.join(choices)}")
        if self.fid_dims not in FID_DIMS:
            raise ConfigError(f"fid_dims: {self.fid_dims!r} is not one of {', '.join(map(str, FID_DIMS))} "
                              f"(pytorch-fid's blocks)")
        for key in ("batch_size", "max_samples", "fid_max_frames_per_video", "report_examples"):
            value = getattr(self, key)
            if value is None and key != "batch_size":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if key == "report_examples" else 1):
                raise ConfigError(f"{key}: expected a positive integer, got {value!r}")
        if self.shard is not None:
            self.shard = format_shard(parse_shard(self.shard))
        wait = self.shard_wait_minutes
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not wait > 0:
            raise ConfigError(f"shard_wait_minutes: expected a positive number of minutes, got {wait!r}")
        return self

