"""The resumable state of a run besides the model: random generators, seeds, deterministic mode, ``kit_resume``.

Everything stored is a tensor, int, float, str, None or a list/tuple/dict of them, so a checkpoint opens with
``torch.load(weights_only=True)`` (``talkingface.weights.load_torch``).
"""
from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from typing import Any

from talkingface.errors import ConfigError

KIT_KEY = "kit_resume"
KIT_VERSION = 1


def derive_seed(*parts: int) -> int:
    """A 32-bit seed from integers (run seed, epoch, rank, …), well mixed (numpy's SeedSequence)."""
    import numpy as np

    return int(np.random.SeedSequence([int(p) & 0xFFFFFFFF for p in parts]).generate_state(1)[0])


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global generator and torch (CPU and every GPU)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def worker_init(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed numpy and python in a worker from torch's per-worker seed (which the
    loader derives from its seeded generator), so workers draw the same numbers for any run of the same epoch."""
    import numpy as np
    import torch

    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def capture_rng(device: str) -> dict[str, Any]:
    """This process's random generators (python, numpy, torch, the CUDA device's) as weights_only-safe values."""
    import numpy as np
    import torch

    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached": float(cached)},
             "torch": torch.get_rng_state(), "cuda": None}
    if torch.device(device).type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(torch.device(device))
    return state


def restore_rng(state: dict[str, Any], device: str) -> None:
    """Put back the generators of :func:`capture_rng`."""
    import numpy as np
    import torch

    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") is not None and torch.device(device).type == "cuda":
        torch.cuda.set_rng_state(state["cuda"].cpu(), torch.device(device))


@contextlib.contextmanager
def deterministic_mode(enabled: bool, device: str) -> Iterator[None]:
    """``torch.use_deterministic_algorithms`` (strict on the CPU, warn-only on CUDA, where some ops — e.g. the
    backward of grid_sample — have no deterministic kernel) and cuDNN without autotuning; restored on exit."""
    import torch

    if not enabled:
        yield
        return
    before = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
              torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    cuda = torch.device(device).type == "cuda"
    if cuda:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")   # read when cuBLAS starts: set it early
    torch.use_deterministic_algorithms(True, warn_only=cuda)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2], before[3]


def make_kit_resume(*, epoch: int, step_in_epoch: int, global_step: int, rng: list[dict[str, Any]],
                    scaler: dict[str, Any] | None, sampler: dict[str, Any], settings: dict[str, Any],
                    world_size: int) -> dict[str, Any]:
    """The ``kit_resume`` entry of a checkpoint: where to continue (``epoch`` = the next epoch index, with
    ``step_in_epoch`` of its batches done), every process's generators (``rng``, in rank order), the GradScaler,
    the sampler, the settings and the world size."""
    return {"version": KIT_VERSION, "epoch": int(epoch), "step_in_epoch": int(step_in_epoch),
            "global_step": int(global_step), "rng": rng, "scaler": scaler, "sampler": sampler,
            "settings": settings, "world_size": int(world_size)}


def check_resume(kit: Any, where: str, *, world_size: int, batch_size: int, seed: int) -> None:
    """ConfigError when ``kit`` (a checkpoint's ``kit_resume``) cannot continue with this run: an unknown version,
    or a change of world size, per-process batch size or seed in the middle of an epoch (allowed at an epoch's end,
    where the next epoch's order is drawn afresh)."""
    if not isinstance(kit, dict) or kit.get("version") != KIT_VERSION:
        found = kit.get("version") if isinstance(kit, dict) else type(kit).__name__
        raise ConfigError(f"{where}: {KIT_KEY} version {found!r} is not {KIT_VERSION}; this kit cannot resume it")
    if kit["step_in_epoch"] == 0:
        return
    changed = [(name, old, new) for name, old, new in (
        ("world size", kit["world_size"], world_size), ("batch_size", kit["sampler"]["batch_size"], batch_size),
        ("seed", kit["sampler"]["seed"], seed)) if old != new]
    if changed:
        names = " and ".join(name for name, _, _ in changed)
        what = "; ".join(f"{name} {old} -> {new}" for name, old, new in changed)
        raise ConfigError(f"{where}: saved {kit['step_in_epoch']} steps into epoch {kit['epoch']}, so it resumes "
                          f"only with the same {names} ({what}); resume from an epoch checkpoint to change them")
