"""Types shared by every metric module: the spec, the set-metric result, and the "cannot score" error."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkingface.errors import KitError, MediaError


class NotComputable(KitError):
    """A batch cannot be scored by this metric (e.g. NIQE on images smaller than 192 px); the message says why."""


@dataclass(frozen=True)
class MetricSpec:
    """What a metric is: the runner and reports read these fields, never the metric code."""

    name: str                 # "niqe", "psnr", "ssim", "fid", "lpips", "lse_c", "lse_d"
    kind: str                 # "image" (per frame), "set" (two whole sets), "video" (per video file)
    full_reference: bool      # needs a same-identity ground truth (psnr, ssim, lpips)
    lower_is_better: bool
    weights: tuple[str, ...]  # manifest names (talkingface.weights) of the files it needs
    protocol: str             # one line naming the protocol, printed next to every number
    needs_audio: bool = False


@dataclass(frozen=True)
class SetResult:
    """Result of a set metric (FID): the value and the sizes of both sets; ``warning`` e.g. when N < 2048."""

    value: float
    n_generated: int
    n_reference: int
    warning: str | None = None


def as_uint8_batch(x, what: str = "images") -> np.ndarray:
    """Return ``x`` as a (N,H,W,3) uint8 array; a single (H,W,3) image becomes a batch of one.

    Values are never clipped or rescaled: anything that is not uint8 RGB is an error naming what was given.
    """
    arr = np.asarray(x)
    if arr.dtype != np.uint8:
        raise MediaError(f"{what}: expected uint8 RGB, got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise MediaError(f"{what}: expected shape (N,H,W,3) or (H,W,3), got {arr.shape}")
    return arr


def check_pair(a: np.ndarray, b: np.ndarray) -> None:
    """Full-reference metrics need batches of the same shape."""
    if a.shape != b.shape:
        raise MediaError(f"generated {a.shape} and reference {b.shape} batches differ in shape")


def resolve_weights(manifest_name: str, given=None):
    """Path of a weight file: ``given`` if set (must exist), else ``talkingface.weights.weight_path(manifest_name)``.

    Both raise ``WeightsError("weights missing: <file>, see `python -m talkingface weights status`")``.
    """
    from pathlib import Path

    from talkingface.errors import WeightsError

    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise WeightsError(f"weights missing: {path}, see `python -m talkingface weights status`")
        return path
    from talkingface.weights import weight_path

    return Path(weight_path(manifest_name))


def load_state_dict(path) -> dict:
    """``talkingface.weights.load_torch`` (weights_only, CPU); anything but a dict of tensors is a WeightsError."""
    import torch

    from talkingface.errors import WeightsError
    from talkingface.weights import load_torch

    obj = load_torch(path, map_location="cpu")
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path}: not a plain state dict of tensors")
    return obj


def load_strict(module, state: dict, path, assign: bool = False) -> None:
    """Load ``state`` into ``module`` strictly; a mismatch is a WeightsError naming the file and the keys.

    ``assign=True`` takes the tensors over (for a module built on the meta device: no init, no copy)."""
    from talkingface.errors import WeightsError

    try:
        module.load_state_dict(state, strict=True, assign=assign)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[1:4])[:300]
        raise WeightsError(f"{path}: state dict does not fit {type(module).__name__} ({detail})") from exc
