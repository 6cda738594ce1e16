"""Types shared by every metric module: the spec, the set-metric result, and the "cannot score" error."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkingface.errors import KitError, MediaError
from talkingface.media.frames import frame_batch


class NotComputable(KitError):
    """A batch cannot be scored by this metric (e.g. NIQE on images smaller than 192 px); the message says why."""


@dataclass(frozen=True)
class MetricSpec:
    """What a metric is: the runner and reports read these fields, never the metric code."""

    name: str                 # "niqe", "psnr", "ssim", "lpips", "l1", "akd", "aed", "csim", "fid", "lse_c", "lse_d"
    kind: str                 # "image" (per frame), "set" (two whole sets), "video" (per video file)
    full_reference: bool      # needs a same-identity ground truth (psnr, ssim, lpips, l1, akd, aed)
    lower_is_better: bool
    weights: tuple[str, ...]  # manifest names (talkingface.weights) of the files it needs
    protocol: str             # one line naming the protocol, printed next to every number
    needs_audio: bool = False
    source_reference: bool = False  # compares each generated frame with the sample's source (csim), any identity


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
    arr = frame_batch(x, what, error=MediaError)
    if arr.dtype != np.uint8:
        raise MediaError(f"{what}: expected uint8 RGB, got dtype {arr.dtype}")
    return arr


def check_pair(a: np.ndarray, b: np.ndarray) -> None:
    """Full-reference metrics need batches of the same shape."""
    if a.shape != b.shape:
        raise MediaError(f"generated {a.shape} and reference {b.shape} batches differ in shape")
