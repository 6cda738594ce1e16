"""A SyncNet training run from :class:`SyncNetOptions`: pairs, held-out split, net, then the core's loop.

    result = train_syncnet(SyncNetOptions(data="training_json.json", log_dir="runs", name="syncnet"))

The run folder is ``<log_dir>/<name>`` (with ``checkpoint``: that file's folder, and the run resumes from it).
Checkpoints: ``syncnet_epoch_NNNN.pth`` (N = the finished epoch, counted from 1) and ``syncnet_last.pth``, each
the authors' ``syncnet_256mouth.pth`` layout (:mod:`lawdnet.train.syncnet_task`), ready for ``load_syncnet``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from lawdnet.train.syncnet_data import SyncPairs, load_sync_videos, split_videos
from lawdnet.train.syncnet_task import DEFAULT_LR, SyncNetTask
from talkingface.errors import ConfigError

log = logging.getLogger(__name__)
EPOCH_NAME = "syncnet_epoch_{epoch:04d}.pth"
LAST_NAME = "syncnet_last.pth"


@dataclass
class SyncNetOptions:
    """Everything one SyncNet training run takes (the CLI's flags)."""

    data: str
    log_dir: str = "runs"
    name: str = "syncnet"
    checkpoint: str | None = None
    frames_root: str | None = None
    features: str = "dp1"
    epochs: int = 100
    batch_size: int = 16
    lr: float = DEFAULT_LR
    mouth_size: int = 256
    min_shift: int = 5
    eval_shift: int | None = None
    repeats: int = 1
    held_out_fraction: float = 0.1
    val_videos: tuple[str, ...] = ()
    device: str = "auto"
    workers: int = 2
    seed: int = 0
    precision: str = "fp32"
    checkpoint_every_epochs: int = 1
    checkpoint_every_minutes: float = 30.0
    checkpoint_every_steps: int | None = None
    max_steps: int | None = None
    deterministic: bool = False
    progress: bool = True

    def run_dir(self) -> Path:
        """``<log_dir>/<name>``, or the folder of the checkpoint to resume."""
        return Path(self.checkpoint).parent if self.checkpoint else Path(self.log_dir) / self.name

    def check(self) -> None:
        """One-line ConfigError for a value that cannot work."""
        if self.checkpoint and not Path(self.checkpoint).is_file():
            raise ConfigError(f"--checkpoint {self.checkpoint}: no such file")
        if self.lr <= 0:
            raise ConfigError(f"--lr must be > 0, got {self.lr}")
        if self.eval_shift is not None and self.eval_shift < self.min_shift:
            raise ConfigError(f"--eval_shift {self.eval_shift} is below --min_shift {self.min_shift}")


def build_data(options: SyncNetOptions) -> tuple[SyncPairs, SyncPairs | None]:
    """(training pairs, held-out pairs or None): split by whole video (``val_videos``) or by each video's last
    clips in time (``held_out_fraction``); held-out off-sync windows are shifted by exactly ±``eval_shift`` when
    it is set, else by any shift >= ``min_shift`` as in training."""
    videos = load_sync_videos(options.data, options.features, options.frames_root)
    train, val = split_videos(videos, options.held_out_fraction, tuple(options.val_videos))
    common = {"mouth_size": options.mouth_size, "min_shift": options.min_shift, "features": options.features}
    dataset = SyncPairs(options.data, seed=options.seed, videos=train, repeats=options.repeats, **common)
    held_out = None
    if val:
        shift = options.eval_shift
        if shift is not None:
            common["min_shift"] = shift
        held_out = SyncPairs(options.data, seed=options.seed + 1, videos=val, max_shift=shift, **common)
    for name, pairs in (("training", dataset), ("held-out", held_out)):
        if pairs is not None and pairs.left_out:
            log.warning("%s pairs: %d clip(s) have no allowed shift in their video and are not used", name,
                        len(pairs.left_out))
    return dataset, held_out


def train_syncnet(options: SyncNetOptions):
    """Train (or resume) one run; returns the core's FitResult. Call once per process (torchrun or plain)."""
    from lawdnet.modules.syncnet import SyncNet
    from talkingface.training import RunSettings, fit, init_distributed, wrap_ddp

    options.check()
    dist = init_distributed(device=options.device)
    dataset, held_out = build_data(options)
    eval_loader = None
    if held_out is not None:
        eval_loader = torch.utils.data.DataLoader(held_out, batch_size=options.batch_size, shuffle=False,
                                                  num_workers=min(options.workers, 2))
    torch.manual_seed(options.seed)
    net = wrap_ddp(SyncNet(15, 29, 128).to(dist.device), dist)
    task = SyncNetTask(net, lr=options.lr, eval_loader=eval_loader)
    settings = RunSettings(run_dir=options.run_dir(), epochs=options.epochs, batch_size=options.batch_size,
                           num_workers=options.workers, seed=options.seed, precision=options.precision,
                           checkpoint_every_epochs=options.checkpoint_every_epochs,
                           checkpoint_every_minutes=options.checkpoint_every_minutes,
                           checkpoint_every_steps=options.checkpoint_every_steps,
                           epoch_checkpoint_name=EPOCH_NAME, epoch_name_offset=1, last_checkpoint_name=LAST_NAME,
                           deterministic=options.deterministic, progress=options.progress,
                           max_steps=options.max_steps)
    if len(dataset) < options.batch_size * dist.world_size:
        raise ConfigError(f"{options.data}: {len(dataset)} training pairs, fewer than one global batch of "
                          f"{options.batch_size * dist.world_size}; lower --batch_size or raise --repeats")
    log.info("SyncNet pairs: %d training, %d held out", len(dataset), len(held_out) if held_out else 0)
    return fit(task, dataset, settings, dist=dist, resume=options.checkpoint)
