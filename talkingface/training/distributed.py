"""Processes of one run: ``init_distributed`` (torchrun's environment or one process), DDP wrapping, reductions.

    dist = init_distributed()                   # RANK/LOCAL_RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT from torchrun
    net = wrap_ddp(net.to(dist.device), dist)   # SyncBatchNorm (CUDA) + DistributedDataParallel when world_size > 1
    means = all_reduce_mean({"loss": 0.3})      # the mean over all processes (as it is with one process)

Without torchrun's variables the run is one process and no process group is made. NCCL is the backend on CUDA,
gloo on the CPU. SyncBatchNorm needs CUDA (DDP refuses SyncBatchNorm on CPU modules in torch 2.12), so on the CPU
BatchNorm stays per-process.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

from talkingface.device import resolve_device
from talkingface.errors import ConfigError

TORCHRUN_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the run; ``is_main`` (rank 0) writes checkpoints, logs and the progress bar."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: str = "cpu"
    is_main: bool = True

    @property
    def distributed(self) -> bool:
        """True when a process group of more than one process exists."""
        return self.world_size > 1


def _env_int(name: str) -> int:
    try:
        return int(os.environ[name])
    except ValueError:
        raise ConfigError(f"environment variable {name}={os.environ[name]!r} is not an integer") from None


def init_distributed(backend: str | None = None, device: str | None = None, timeout_minutes: float = 30.0) -> DistInfo:
    """Join torchrun's process group (once; later calls return the same DistInfo) or run as one process.

    ``device`` (``auto``/None, ``cpu``, ``cuda``) picks the device type; under torchrun on CUDA each process takes
    ``cuda:LOCAL_RANK``. ``backend`` defaults to nccl on CUDA and gloo on the CPU."""
    import torch
    import torch.distributed as tdist

    if "WORLD_SIZE" not in os.environ or _env_int("WORLD_SIZE") == 1 and not tdist.is_initialized():
        return DistInfo(device=resolve_device(device))
    missing = [v for v in TORCHRUN_VARS if v not in os.environ]
    if missing:
        raise ConfigError(f"WORLD_SIZE is set but {', '.join(missing)} not: start the run with torchrun "
                          f"(python -m torch.distributed.run) or unset WORLD_SIZE for one process")
    rank, local_rank, world = _env_int("RANK"), _env_int("LOCAL_RANK"), _env_int("WORLD_SIZE")
    kind = torch.device(resolve_device(device)).type
    dev = f"cuda:{local_rank}" if kind == "cuda" else "cpu"
    if kind == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(f"LOCAL_RANK {local_rank} but this machine has {torch.cuda.device_count()} GPU(s): "
                              f"give torchrun --nproc_per_node <= the number of GPUs")
        torch.cuda.set_device(local_rank)
    if not tdist.is_initialized():
        tdist.init_process_group(backend or ("nccl" if kind == "cuda" else "gloo"),
                                 timeout=datetime.timedelta(minutes=timeout_minutes),
                                 **({"device_id": torch.device(dev)} if kind == "cuda" else {}))
    return DistInfo(rank=rank, local_rank=local_rank, world_size=world, device=dev, is_main=rank == 0)


def current_dist(device: str | None = None) -> DistInfo:
    """The DistInfo of an existing process group (made by :func:`init_distributed`), else one process."""
    import torch.distributed as tdist

    if tdist.is_available() and tdist.is_initialized():
        return init_distributed(device=device)
    return DistInfo(device=resolve_device(device))


def wrap_ddp(module: Any, dist: DistInfo, sync_batchnorm: bool = True, broadcast_buffers: bool = False,
             find_unused_parameters: bool = False) -> Any:
    """``module`` on ``dist.device``; on CUDA with ``sync_batchnorm`` its BatchNorms become SyncBatchNorm (also with
    one process, as the authors trained); in DistributedDataParallel when ``dist.world_size > 1``."""
    import torch

    module = module.to(dist.device)
    on_cuda = torch.device(dist.device).type == "cuda"
    if sync_batchnorm and on_cuda:
        module = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if not dist.distributed:
        return module
    ids = [torch.device(dist.device).index] if on_cuda else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids, broadcast_buffers=broadcast_buffers,
                                                     find_unused_parameters=find_unused_parameters)


def _reduce_device(dist: DistInfo) -> str:
    import torch.distributed as tdist

    return dist.device if tdist.get_backend() == "nccl" else "cpu"


def all_reduce_mean(values: dict[str, float], dist: DistInfo | None = None) -> dict[str, float]:
    """The mean of each value over all processes (every process must pass the same keys); as is for one process."""
    import torch

    dist = dist or current_dist()
    out = {k: float(v) for k, v in values.items()}
    if not dist.distributed or not out:
        return out
    import torch.distributed as tdist

    keys = sorted(out)
    t = torch.tensor([out[k] for k in keys], dtype=torch.float64, device=_reduce_device(dist))
    tdist.all_reduce(t)
    return {k: v / dist.world_size for k, v in zip(keys, t.tolist(), strict=True)}


def all_reduce_max(flags: list[float], dist: DistInfo) -> list[float]:
    """The element-wise maximum of ``flags`` over all processes (how processes agree to stop or checkpoint)."""
    if not dist.distributed:
        return list(flags)
    import torch
    import torch.distributed as tdist

    t = torch.tensor(flags, dtype=torch.float64, device=_reduce_device(dist))
    tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
    return t.tolist()


def all_gather_object(obj: Any, dist: DistInfo) -> list[Any]:
    """Every process's ``obj`` (picklable), in rank order; ``[obj]`` for one process."""
    if not dist.distributed:
        return [obj]
    import torch.distributed as tdist

    out: list[Any] = [None] * dist.world_size
    tdist.all_gather_object(out, obj)
    return out


def barrier(dist: DistInfo | None = None) -> None:
    """Wait for every process (nothing to wait for with one process)."""
    import torch.distributed as tdist

    if tdist.is_available() and tdist.is_initialized():
        tdist.barrier()


def shutdown() -> None:
    """Destroy the process group if there is one (call once at the end of a torchrun process, in every rank).

    All ranks first meet at a barrier: a rank that destroyed its gloo group and exited while another still used its
    own died at exit with ``terminate called without an active exception`` (SIGABRT), as in talkingface.shards."""
    import torch.distributed as tdist

    if tdist.is_available() and tdist.is_initialized():
        tdist.barrier()
        tdist.destroy_process_group()
