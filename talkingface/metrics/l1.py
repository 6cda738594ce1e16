"""L1 as FOMM reports it (first-order-model ``reconstruction.py``): per frame the mean absolute error of the RGB
pixels scaled to [0, 1], ``|prediction - driving|.mean()`` over H x W x 3, with both images ``uint8 / 255``.

Computed exactly: ``sum |a - b|`` of the uint8 values in integers, divided by ``255 * H * W * 3`` in float64 (FOMM's
float32 arithmetic differs from this by float32 rounding only, ~1e-7 relative). Identical frames give 0. Not on
0..255 values, not on grayscale: both give other numbers (the tests check that).
"""
from __future__ import annotations

import numpy as np

from talkingface.errors import KitError
from talkingface.metrics.base import MetricSpec, as_uint8_batch, check_pair

_MAX_PIXELS_PER_CHUNK = 4_000_000


def l1_batch(generated, reference) -> np.ndarray:
    """FOMM's L1 of each pair of a (N,H,W,3) uint8 RGB batch → float64 (N,), in [0, 1]."""
    a = as_uint8_batch(generated, "l1 generated")
    b = as_uint8_batch(reference, "l1 reference")
    check_pair(a, b)
    n, h, w, c = a.shape
    step = max(1, _MAX_PIXELS_PER_CHUNK // max(1, h * w))
    sums = np.zeros(n, dtype=np.int64)
    for s in range(0, n, step):
        diff = np.abs(a[s:s + step].astype(np.int16) - b[s:s + step].astype(np.int16))
        sums[s:s + step] = diff.reshape(len(diff), -1).sum(axis=1, dtype=np.int64)
    return sums.astype(np.float64) / (255.0 * h * w * c)


def l1(a, b) -> float:
    """FOMM's L1 of two (H,W,3) uint8 RGB images: mean |a - b| of the pixels / 255, in [0, 1]."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 3:
        raise KitError(f"l1: expected one (H,W,3) image, got shape {a.shape}; use l1_batch for batches")
    return float(l1_batch(a[None], b[None])[0])


class L1Metric:
    """Registry object: ``m(generated, reference) -> (N,)`` FOMM L1 per frame (0 for identical frames)."""

    def __init__(self, spec: MetricSpec, device: str = "cpu"):
        self.spec, self.device = spec, device   # numpy on the CPU whatever the device: exact and fast enough

    def __call__(self, generated, reference=None) -> np.ndarray:
        if reference is None:
            raise KitError("l1 needs a reference batch (full-reference metric)")
        return l1_batch(generated, reference)


__all__ = ["l1", "l1_batch", "L1Metric"]
