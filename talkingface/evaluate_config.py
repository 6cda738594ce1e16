"""The evaluation runner's options: a dataclass loaded from YAML (config/evaluate/default.yaml) via talkingface.config.

The dataclass defaults equal config/evaluate/default.yaml (a test checks it), so the library works without the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from talkingface.errors import ConfigError

DEFAULT_METRICS = ("niqe", "psnr", "ssim", "fid", "lpips", "lse_c", "lse_d")
SSIM_PROTOCOLS = ("standard", "fomm")
NIQE_VARIANTS = ("pyiqa", "matlab")
LSE_MODES = ("whole-frame", "face-track")


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
    lse_mode: str = "whole-frame"
    report_examples: int = 3
    progress: bool = True

    def validate(self) -> "EvaluateConfig":
        """Normalise list-like fields and check the choices; a ConfigError names the bad key."""
        if isinstance(self.generate_dirs, str):
            self.generate_dirs = [d for d in self.generate_dirs.split(",") if d.strip()]
        self.generate_dirs = [str(d).strip() for d in (self.generate_dirs or [])]
        if isinstance(self.metrics, str):
            self.metrics = self.metrics.split(",")
        names = [str(m).strip().lower() for m in (self.metrics or []) if str(m).strip()]
        if not names:
            raise ConfigError("metrics: empty list; give at least one of " + ", ".join(DEFAULT_METRICS))
        self.metrics = list(dict.fromkeys(names))
        for key, choices in (("ssim_protocol", SSIM_PROTOCOLS), ("niqe_variant", NIQE_VARIANTS),
                             ("lse_mode", LSE_MODES)):
            if getattr(self, key) not in choices:
                raise ConfigError(f"{key}: {getattr(self, key)!r} is not one of {', '.join(choices)}")
        dev = str(self.device)
        if not (dev in ("auto", "cpu", "cuda") or dev.startswith("cuda:")):
            raise ConfigError(f"device: {dev!r} is not auto, cpu, cuda or cuda:N")
        if self.fid_dims not in (64, 192, 768, 2048):
            raise ConfigError(f"fid_dims: {self.fid_dims!r} is not one of 64, 192, 768, 2048 (pytorch-fid's blocks)")
        for key in ("batch_size", "max_samples", "fid_max_frames_per_video", "report_examples"):
            value = getattr(self, key)
            if value is None and key != "batch_size":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if key == "report_examples" else 1):
                raise ConfigError(f"{key}: expected a positive integer, got {value!r}")
        return self


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when a GPU is present, else ``cpu``; an explicit cuda without a GPU is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device: {device!r} asked for but no CUDA GPU is available (use --device cpu or auto)")
    return device
