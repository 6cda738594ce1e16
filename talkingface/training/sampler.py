"""``ShardSampler``: each process's share of an epoch — the same shuffle for any world size, whole batches only,
resumable in the middle of an epoch.

The epoch's order is a permutation drawn from ``(seed, epoch)`` alone. Process ``rank`` of ``world`` takes every
``world``-th index of it from ``rank`` on, cut to whole batches, so batch ``j`` of all processes together is exactly
``order[j·B·world : (j+1)·B·world]``: the batch ``j`` one process with batch ``B·world`` sees. With a mean loss and
DDP's gradient averaging, N processes with batch B then train like one process with batch N·B. The world size is the
real one (torchrun's WORLD_SIZE), never the number of GPUs on the machine.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from talkingface.errors import ConfigError


class ShardSampler:
    """Indices of ``rank``'s share of each epoch; ``set_epoch(e)`` before each epoch, ``skip_batches(k)`` to resume."""

    def __init__(self, size: int, batch_size: int, world_size: int = 1, rank: int = 0, seed: int = 0,
                 shuffle: bool = True):
        if not 0 <= rank < world_size:
            raise ConfigError(f"rank {rank} is not in 0..{world_size - 1}")
        self.size, self.batch_size, self.world_size, self.rank = int(size), int(batch_size), world_size, rank
        self.seed, self.shuffle = int(seed), shuffle
        self.epoch = 0
        self.start_batch = 0            # batches of this epoch already done (skipped when resuming)
        if self.batches_per_epoch == 0:
            raise ConfigError(f"the dataset has {size} samples, fewer than one global batch ({batch_size} per "
                              f"process x {world_size} processes); use a smaller batch_size or more data")

    @property
    def batches_per_epoch(self) -> int:
        """Whole batches per process and epoch (the last, partial global batch is dropped)."""
        return self.size // (self.batch_size * self.world_size)

    def order(self, epoch: int) -> list[int]:
        """The epoch's order of all indices: a permutation from (seed, epoch), the same for any world size."""
        import torch

        if not self.shuffle:
            return list(range(self.size))
        g = torch.Generator()
        g.manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.size, generator=g).tolist()

    def set_epoch(self, epoch: int) -> None:
        """Take epoch ``epoch``'s order from the start (and forget any skip)."""
        self.epoch, self.start_batch = int(epoch), 0

    def skip_batches(self, count: int) -> None:
        """Start this epoch after its first ``count`` batches (a resumed run sees exactly the rest, in order)."""
        if not 0 <= count <= self.batches_per_epoch:
            raise ConfigError(f"cannot skip {count} batches of an epoch of {self.batches_per_epoch}")
        self.start_batch = int(count)

    def indices(self) -> list[int]:
        """This process's indices of the current epoch after the skipped batches."""
        used = self.batches_per_epoch * self.batch_size * self.world_size
        mine = self.order(self.epoch)[:used][self.rank::self.world_size]
        return mine[self.start_batch * self.batch_size:]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices())

    def __len__(self) -> int:
        return (self.batches_per_epoch - self.start_batch) * self.batch_size

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint needs to continue this epoch (plain ints: ``weights_only``-safe)."""
        return {"epoch": self.epoch, "start_batch": self.start_batch, "seed": self.seed, "size": self.size,
                "batch_size": self.batch_size, "world_size": self.world_size}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue where ``state`` (of a sampler over the same data, batch and world size) left off."""
        mine = {"seed": self.seed, "size": self.size, "batch_size": self.batch_size, "world_size": self.world_size}
        diff = [f"{k} {state.get(k)} -> {v}" for k, v in mine.items() if state.get(k) != v]
        if diff:
            raise ConfigError(f"cannot continue the epoch's sample order: {', '.join(diff)} changed")
        self.set_epoch(state["epoch"])
        self.skip_batches(state["start_batch"])
