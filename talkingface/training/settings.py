"""``RunSettings``: what one training run needs besides the model (run folder, epochs, batch, precision, checkpoints).

The settings are checked once (:func:`check_settings`, one-line ConfigError per bad value), written resolved to
``run_dir/settings.yaml`` and stored in every checkpoint (``kit_resume["settings"]``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from talkingface.errors import ConfigError

PRECISIONS = ("fp32", "bf16", "fp16")


@dataclass
class RunSettings:
    """One training run's settings; ``batch_size`` is per process (the global batch is ``batch_size × world``)."""

    run_dir: Path
    epochs: int
    batch_size: int                 # per process
    num_workers: int = 2
    seed: int = 0
    precision: str = "fp32"         # fp32 | bf16 (CUDA, or CPU autocast) | fp16 (CUDA only, with a GradScaler)
    grad_clip: float | None = None  # max grad norm, per optimizer step (ctx.optimize)
    checkpoint_every_epochs: int = 1
    checkpoint_every_minutes: float = 30.0      # mid-epoch "last" checkpoint by time (0 = never)
    checkpoint_every_steps: int | None = None   # mid-epoch "last" checkpoint by global step
    epoch_checkpoint_name: str = "{epoch:08d}-checkpoint.pth.tar"
    epoch_name_offset: int = 0      # added to the 0-based epoch index in epoch_checkpoint_name (LawDNet's count from 1)
    last_checkpoint_name: str = "last-checkpoint.pth.tar"
    deterministic: bool = False     # torch.use_deterministic_algorithms (warn-only on CUDA) + exact resume
    progress: bool = True           # tqdm on rank 0
    log_every_steps: int = 1
    image_every_steps: int = 0      # 0 = images only at the end of an epoch
    max_steps: int | None = None    # stop after this many global steps; the final checkpoint is still written


def check_settings(settings: RunSettings) -> RunSettings:
    """``settings`` with ``run_dir`` as a Path, after checking every value (ConfigError naming the field)."""
    s = dataclasses.replace(settings, run_dir=Path(settings.run_dir))

    def need(ok: bool, text: str) -> None:
        if not ok:
            raise ConfigError(f"training settings: {text}")

    for name in ("epochs", "batch_size", "checkpoint_every_epochs", "log_every_steps"):
        value = getattr(s, name)
        need(isinstance(value, int) and value >= 1, f"{name} must be an integer >= 1, got {value!r}")
    need(isinstance(s.seed, int) and not isinstance(s.seed, bool), f"seed must be an integer, got {s.seed!r}")
    need(isinstance(s.num_workers, int) and s.num_workers >= 0, f"num_workers must be >= 0, got {s.num_workers!r}")
    need(isinstance(s.image_every_steps, int) and s.image_every_steps >= 0,
         f"image_every_steps must be >= 0 (0 = at the end of each epoch), got {s.image_every_steps!r}")
    need(s.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}, got {s.precision!r}")
    need(s.grad_clip is None or s.grad_clip > 0, f"grad_clip must be > 0 or None, got {s.grad_clip!r}")
    need(s.checkpoint_every_minutes >= 0, f"checkpoint_every_minutes must be >= 0, got {s.checkpoint_every_minutes!r}")
    for name in ("checkpoint_every_steps", "max_steps"):
        value = getattr(s, name)
        need(value is None or (isinstance(value, int) and value >= 1), f"{name} must be >= 1 or None, got {value!r}")
    try:
        name = s.epoch_checkpoint_name.format(epoch=0)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"training settings: epoch_checkpoint_name {s.epoch_checkpoint_name!r} must format with "
                          f"{{epoch}} only ({exc})") from None
    need(name != s.epoch_checkpoint_name.format(epoch=1), "epoch_checkpoint_name must contain {epoch}")
    need(s.last_checkpoint_name != name and "/" not in s.last_checkpoint_name + name,
         "checkpoint names must be plain file names, different from each other")
    return s


def settings_dict(settings: RunSettings) -> dict[str, Any]:
    """The settings as a plain dict (strings, numbers, None): YAML- and ``weights_only``-safe."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(settings).items()}
