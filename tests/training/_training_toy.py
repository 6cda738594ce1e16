"""A tiny training task and dataset for the training-core tests, and a script running ``fit`` on them.

    python tests/training/_training_toy.py RUN_DIR --epochs 2 --batch 4 [--resume] [--hang-at STEP] ...
    python -m torch.distributed.run --nproc_per_node=2 tests/training/_training_toy.py RUN_DIR ...   (gloo)

The dataset draws its per-item noise from (seed, epoch, index), so results depend on neither workers nor resume.
``--hang-at S`` makes step S (0-based global index) write ``RUN_DIR/hanging`` and wait until ``RUN_DIR/release``
exists: a test can then kill the process (SIGKILL) or send it SIGTERM at a known point.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

import torch

from talkingface.training import RunSettings, derive_seed, fit, init_distributed, shutdown, wrap_ddp

DIM = 4


class NoisyDataset:
    """(x, y) pairs of a fixed linear problem; x gets noise from (seed, epoch, index)."""

    def __init__(self, size: int = 48, seed: int = 0):
        g = torch.Generator().manual_seed(1234)
        self.x = torch.randn(size, DIM, generator=g)
        self.y = self.x @ torch.randn(DIM, 1, generator=g) + 0.5
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        g = torch.Generator().manual_seed(derive_seed(self.seed, self.epoch, i))
        return self.x[i] + 0.1 * torch.randn(DIM, generator=g), self.y[i]


class ToyTask:
    """Linear → (BatchNorm) → ReLU → (Dropout) → Linear with SGD+momentum and a step LR schedule."""

    def __init__(self, dist, bn: bool = False, dropout: float = 0.0, hang_at: int | None = None,
                 run_dir: Path | None = None, sigterm_at: int | None = None):
        torch.manual_seed(7)
        layers = [torch.nn.Linear(DIM, 8)] + ([torch.nn.BatchNorm1d(8)] if bn else []) + [torch.nn.ReLU()]
        layers += [torch.nn.Dropout(dropout)] if dropout else []
        self.net = wrap_ddp(torch.nn.Sequential(*layers, torch.nn.Linear(8, 1)), dist)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.05, momentum=0.9)
        self.sched = torch.optim.lr_scheduler.StepLR(self.opt, step_size=1, gamma=0.5)
        self.hang_at, self.run_dir, self.sigterm_at = hang_at, run_dir, sigterm_at
        self.seen: list[int] = []

    def bare(self) -> torch.nn.Module:
        return getattr(self.net, "module", self.net)

    def modules(self):
        return {"net": self.net}

    def train_step(self, batch, ctx):
        if ctx.step == self.hang_at:
            (self.run_dir / "hanging").write_text(str(ctx.step))
            while not (self.run_dir / "release").exists():
                time.sleep(0.02)
        if ctx.step == self.sigterm_at:
            signal.raise_signal(signal.SIGTERM)
        x, y = batch
        with ctx.autocast():
            loss = torch.nn.functional.mse_loss(self.net(x).float(), y)
        ctx.optimize(loss, [self.opt])
        return {"loss": loss.detach(), "lr": self.opt.param_groups[0]["lr"]}

    def end_epoch(self, epoch: int) -> None:
        self.sched.step()

    def evaluate(self, ctx):
        with torch.no_grad():
            return {"weight_norm": float(sum(p.norm() for p in self.bare().parameters()))}

    def images(self, batch, out):
        x = batch[0][:1].clamp(0, 1)
        return {"input": x.reshape(1, 1, DIM).expand(3, 2, DIM)}

    def state_dict(self, epoch: int):
        return {"net": self.bare().state_dict(), "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict(), "epoch": epoch}

    def load_state_dict(self, payload):
        self.bare().load_state_dict(payload["net"])
        self.opt.load_state_dict(payload["optimizer"])
        self.sched.load_state_dict(payload["scheduler"])


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("run_dir", type=Path)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--size", type=int, default=48)
    p.add_argument("--every-steps", type=int)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--hang-at", type=int)
    p.add_argument("--resume", action="store_true")
    a = p.parse_args(argv)
    dist = init_distributed(device="cpu")
    task = ToyTask(dist, dropout=a.dropout, hang_at=a.hang_at, run_dir=a.run_dir)
    settings = RunSettings(run_dir=a.run_dir, epochs=a.epochs, batch_size=a.batch, num_workers=0, progress=False,
                           deterministic=True, checkpoint_every_steps=a.every_steps, checkpoint_every_minutes=0)
    result = fit(task, NoisyDataset(a.size), settings, dist=dist, resume=a.run_dir if a.resume else None)
    if dist.is_main:
        params = {k: v.tolist() for k, v in task.bare().state_dict().items()}
        (a.run_dir / f"result{'-resumed' if a.resume else ''}.json").write_text(json.dumps(
            {"steps": result.steps, "stopped": result.stopped_by_signal, "params": params}))
    shutdown()
    return 128 + result.signal_number if result.stopped_by_signal else 0


if __name__ == "__main__":
    sys.exit(main())
