"""``fit``: the generic training loop — epochs of steps over the shard sampler, logging, checkpoints, resume, stop.

    dist = init_distributed()
    task = MyTask(dist)                                   # builds nets (wrap_ddp) and optimizers
    result = fit(task, dataset, RunSettings(run_dir=Path("runs/a"), epochs=100, batch_size=8), dist=dist)
    result = fit(task, dataset, settings, dist=dist, resume="runs/a")   # continue from its newest checkpoint

See docs/training.md for launching, checkpoints, resume and signals.
"""
from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from talkingface.errors import ConfigError, KitError
from talkingface.training.checkpoints import checkpoints_in, load_checkpoint, resolve_resume, write_collective
from talkingface.training.distributed import DistInfo, all_gather_object, all_reduce_max, all_reduce_mean, current_dist
from talkingface.training.precision import Precision
from talkingface.training.sampler import ShardSampler
from talkingface.training.settings import RunSettings, check_settings, settings_dict
from talkingface.training.signals import StopFlag
from talkingface.training.state import (
    KIT_KEY,
    capture_rng,
    check_resume,
    derive_seed,
    deterministic_mode,
    make_kit_resume,
    restore_rng,
    seed_everything,
    worker_init,
)
from talkingface.training.task import FitResult, StepContext, TrainTask, move_to
from talkingface.training.tracking import Tracker

log = logging.getLogger(__name__)


class TrainingDiverged(KitError):
    """A loss became NaN or infinite: the run stops at that step without writing a checkpoint of its weights."""


def _scalars(out: Any) -> dict[str, float]:
    if not out:
        return {}
    return {str(k): float(v.detach().float().item()) if hasattr(v, "detach") else float(v) for k, v in out.items()}


class _Run:
    """The mutable state of one :func:`fit` call."""

    def __init__(self, task: TrainTask, dataset: Any, s: RunSettings, dist: DistInfo, collate_fn: Any):
        import torch

        self.task, self.dataset, self.s, self.dist = task, dataset, s, dist
        self.precision = Precision(s.precision, dist.device, s.grad_clip)
        self.sampler = ShardSampler(len(dataset), s.batch_size, dist.world_size, dist.rank, s.seed)
        self.generator = torch.Generator()
        cuda = torch.device(dist.device).type == "cuda"
        self.loader = torch.utils.data.DataLoader(
            dataset, batch_size=s.batch_size, sampler=self.sampler, num_workers=s.num_workers,
            collate_fn=collate_fn, drop_last=True, pin_memory=cuda, worker_init_fn=worker_init,
            generator=self.generator)
        self.ctx = StepContext(dist=dist, device=dist.device, precision=self.precision)
        self.epoch = self.step_in_epoch = self.global_step = 0
        self.rng: dict[str, Any] | None = None          # this rank's generators to restore mid-epoch
        self.last_path: Path | None = None
        self.saved_step = -1
        self.saved_at = time.monotonic()
        self.tracker: Tracker | None = None

    # ------------------------------------------------------------------------------------------------ checkpoints
    def resume(self, resume: str | os.PathLike) -> None:
        s = self.s
        path = resolve_resume(resume, s.epoch_checkpoint_name, s.last_checkpoint_name)
        payload, kit = load_checkpoint(path)
        check_resume(kit, str(path), world_size=self.dist.world_size, batch_size=s.batch_size, seed=s.seed)
        self.task.load_state_dict(payload)
        self.precision.load_state_dict(kit.get("scaler"))
        self.epoch, self.step_in_epoch, self.global_step = kit["epoch"], kit["step_in_epoch"], kit["global_step"]
        if self.step_in_epoch:
            self.sampler.load_state_dict(kit["sampler"])
            self.rng = kit["rng"][self.dist.rank]
        self.last_path, self.saved_step = path, self.global_step
        log.info("resuming from %s: epoch %d, %d steps into it, global step %d", path, self.epoch,
                 self.step_in_epoch, self.global_step)

    def save(self, path: Path, model_epoch: int, next_epoch: int, step_in_epoch: int) -> Path:
        """A checkpoint of the model's payload plus ``kit_resume`` (every process calls it; rank 0 writes)."""
        rng = all_gather_object(capture_rng(self.dist.device), self.dist)
        payload = None
        if self.dist.is_main:
            payload = dict(self.task.state_dict(model_epoch))
            sampler = dict(self.sampler.state_dict(), epoch=next_epoch, start_batch=step_in_epoch)
            payload[KIT_KEY] = make_kit_resume(
                epoch=next_epoch, step_in_epoch=step_in_epoch, global_step=self.global_step, rng=rng,
                scaler=self.precision.state_dict(), sampler=sampler, settings=settings_dict(self.s),
                world_size=self.dist.world_size)
        previous = self.last_path if self.last_path is not None and self.last_path.exists() else None
        write_collective(payload, path, previous or (path if path.exists() else None), self.dist)
        self.last_path, self.saved_at, self.saved_step = path, time.monotonic(), self.global_step
        log.debug("wrote %s (global step %d)", path, self.global_step)
        return path

    def save_last(self, next_epoch: int, step_in_epoch: int) -> Path:
        """The last checkpoint; the model's ``epoch`` is the epoch in progress, or the one just done."""
        model_epoch = next_epoch if step_in_epoch else max(next_epoch - 1, 0)
        return self.save(self.s.run_dir / self.s.last_checkpoint_name, model_epoch, next_epoch, step_in_epoch)

    def final_saved(self) -> bool:
        """True when the last checkpoint already holds the current position (nothing to write at the end)."""
        return (self.last_path is not None and self.last_path.name == self.s.last_checkpoint_name
                and self.saved_step == self.global_step)

    # ------------------------------------------------------------------------------------------------ the loop
    def _train_mode(self, on: bool) -> None:
        for module in self.task.modules().values():
            module.train(on)

    def _agree(self, stop: StopFlag, values: dict[str, float]) -> tuple[bool, bool]:
        """(stop, checkpoint due) as all processes agree (rank 0's clock decides time-based checkpoints); a
        TrainingDiverged in every process when a loss of any process is not finite."""
        s = self.s
        due_time = (self.dist.is_main and s.checkpoint_every_minutes > 0
                    and time.monotonic() - self.saved_at >= 60.0 * s.checkpoint_every_minutes)
        due_steps = bool(s.checkpoint_every_steps) and self.global_step % s.checkpoint_every_steps == 0
        bad = sorted(k for k, v in values.items() if not math.isfinite(v))
        flags = all_reduce_max([float(stop.is_set), float(due_time), float(bool(bad))], self.dist)
        if flags[2] > 0:
            what = ", ".join(f"{k} {values[k]}" for k in bad) if bad else "a loss of another process"
            kept = f"the last checkpoint, {self.last_path}," if self.last_path else "no checkpoint"
            clip = " or --grad_clip (e.g. 1)" if s.grad_clip is None else f" or a --grad_clip below {s.grad_clip:g}"
            raise TrainingDiverged(f"step {self.global_step}: {what} (training diverged); stopped without saving "
                                   f"these weights, {kept} is kept: resume from an earlier checkpoint with a lower "
                                   f"learning rate{clip}, or check the data of this step")
        return flags[0] > 0, flags[1] > 0 or due_steps

    def run_epoch(self, stop: StopFlag) -> bool:
        """One (or the rest of one) epoch; True when it ended early (a signal or max_steps)."""
        from tqdm import tqdm

        s, dist, epoch = self.s, self.dist, self.epoch
        skip = self.step_in_epoch
        self.sampler.set_epoch(epoch)
        self.sampler.skip_batches(skip)
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        if skip and self.rng is not None:
            restore_rng(self.rng, dist.device)
        else:
            seed_everything(derive_seed(s.seed, epoch, dist.rank))
        self.rng = None
        self.generator.manual_seed(derive_seed(s.seed, epoch, dist.rank, 1))
        self._train_mode(True)
        sums: dict[str, float] = {}
        count, batch, out, early = 0, None, None, False
        per_epoch = self.sampler.batches_per_epoch
        bar = tqdm(total=per_epoch, initial=skip, desc=f"epoch {epoch}", disable=not (s.progress and dist.is_main),
                   dynamic_ncols=True, leave=False)
        try:
            for batch in self.loader:
                batch = move_to(batch, dist.device)
                self.ctx.epoch, self.ctx.step, self.ctx.step_in_epoch = epoch, self.global_step, self.step_in_epoch
                out = self.task.train_step(batch, self.ctx)
                self.precision.end_step()
                self.step_in_epoch += 1
                self.global_step += 1
                values = _scalars(out)
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + v
                count += 1
                bar.update(1)
                if self.global_step % s.log_every_steps == 0:
                    means = all_reduce_mean(values, dist)
                    self.tracker.log_step(self.global_step, epoch, means)
                    bar.set_postfix({k: f"{v:.4g}" for k, v in list(means.items())[:4]}, refresh=False)
                if s.image_every_steps and self.global_step % s.image_every_steps == 0:
                    self._images(batch, out)
                stopping, due = self._agree(stop, values)
                early = stopping or (s.max_steps is not None and self.global_step >= s.max_steps)
                if early:
                    break
                if due and self.step_in_epoch < per_epoch:
                    self.save_last(epoch, self.step_in_epoch)
        finally:
            bar.close()
        if self.step_in_epoch < per_epoch:
            return True
        means = all_reduce_mean({k: v / max(count, 1) for k, v in sums.items()}, dist)
        self.tracker.log_scalars("epoch", means, self.global_step)
        if dist.is_main:
            log.info("epoch %d done (step %d): %s", epoch, self.global_step,
                     ", ".join(f"{k} {v:.4g}" for k, v in means.items()) or "no losses")
        if not s.image_every_steps and batch is not None:
            self._images(batch, out)
        end_epoch = getattr(self.task, "end_epoch", None)
        if end_epoch is not None:
            end_epoch(epoch)
        self.epoch, self.step_in_epoch = epoch + 1, 0
        if (epoch + 1) % s.checkpoint_every_epochs == 0 or epoch + 1 == s.epochs:
            self._evaluate()
            name = s.epoch_checkpoint_name.format(epoch=epoch + s.epoch_name_offset)
            self.save(s.run_dir / name, epoch, epoch + 1, 0)
        return early

    def _images(self, batch: Any, out: Any) -> None:
        import torch

        images = getattr(self.task, "images", None)
        if images is not None and self.dist.is_main:
            with torch.no_grad():
                self.tracker.log_images(images(batch, out), self.global_step)

    def _evaluate(self) -> None:
        evaluate = getattr(self.task, "evaluate", None)
        if evaluate is None:
            return
        self._train_mode(False)
        try:
            values = evaluate(self.ctx)     # autograd as it is: the task decides (a loss may need gradients)
        finally:
            self._train_mode(True)
        if values:
            self.tracker.log_scalars("eval", _scalars(values), self.global_step)


def fit(task: TrainTask, dataset: Any, settings: RunSettings, dist: DistInfo | None = None, collate_fn: Any = None,
        resume: str | os.PathLike | None = None) -> FitResult:
    """Train ``task`` on ``dataset`` (map-style, ``len`` and ``[i]``) per ``settings``; ``resume`` a checkpoint
    file or a run folder (its newest checkpoint by global step) continues exactly where that checkpoint was.

    Every process of a torchrun job calls it with the same arguments. Stops early on SIGTERM / SIGINT (after the
    current step, writing the last checkpoint: ``stopped_by_signal``) or at ``settings.max_steps``."""
    s = check_settings(settings)
    dist = dist or current_dist()
    if dist.is_main:
        s.run_dir.mkdir(parents=True, exist_ok=True)
    found = checkpoints_in(s.run_dir, s.epoch_checkpoint_name, s.last_checkpoint_name) if resume is None else []
    if all_reduce_max([float(bool(found and dist.is_main))], dist)[0] > 0:
        raise ConfigError(f"{s.run_dir} already holds checkpoints ({found[0].name if found else 'on rank 0'}); "
                          f"resume from it, or start the new run in another folder")
    run = _Run(task, dataset, s, dist, collate_fn)
    if resume is not None:
        run.resume(resume)
    run.tracker = Tracker(s.run_dir, dist.is_main, run.global_step)
    run.tracker.write_settings(settings_dict(s), s.run_dir / "settings.yaml")
    try:
        with StopFlag() as stop, deterministic_mode(s.deterministic, dist.device):
            while run.epoch < s.epochs:
                if s.max_steps is not None and run.global_step >= s.max_steps:
                    break
                if run.run_epoch(stop):
                    break
            if not run.final_saved():
                run.save_last(run.epoch, run.step_in_epoch)
        return FitResult(epochs_done=run.epoch, steps=run.global_step, last_checkpoint=run.last_path,
                         stopped_by_signal=stop.is_set, signal_number=stop.signal_number, losses=run.tracker.rows)
    finally:
        run.tracker.close()
