"""LawDNet's mouth mask (the authors' ``SmoothSqMask``): a blurred rectangle over the lower face, built once per size.

    masked = mask_mouth(faces)            # (B, C, H, W) aligned faces (any scale) -> faces x (1 - mask)
    keep = keep_weights(h, w, device)     # (1, 1, H, W) float32 1 - mask, cached per (H, W, device, dtype)

The authors' mask (tensor_processing.SmoothSqMask at LawDNet_2024 76a14bb): a 103 x 80 canvas (H x W) with ones in
rows int(0.4 * 80) = 32 ... int(1.2 * 80) - 1 = 95 and columns int(0.1 * 80) = 8 ... int(0.9 * 80) - 1 = 71, blurred
by a normalised 5 x 5 Gaussian (sigma 1) without padding (-> 99 x 76), resized to (H, W) with
``torchvision.transforms.Resize((H, W))`` (bilinear) and applied as ``input * (1 - mask)``.

**Antialias.** On tensors that Resize means ``interpolate(bilinear, align_corners=False, antialias=A)``, where A is
True since torchvision 0.17 (our pin, 0.27) and was effectively False (with a warning) in 0.15/0.16. The two differ
only when shrinking: every crop LawDNet masks is at least 99 x 76 (out_w = 1.25 mouth >= 80, height 1.3 out_w >= 104),
so for all of them the mask is an upscale and both settings agree (measured: max difference 6e-8 at 104 x 80, 1.8e-7
at 468 x 360 and 832 x 640, float32 rounding; 0.046 when shrinking to 60 x 50). We use antialias=True, what the pinned
torchvision runs; for sizes below 99 x 76 the authors' result depended on their torchvision version.

The 99 x 76 blurred canvas is separable and computed in float64 (the authors': a float32 conv2d; difference < 1e-7).
Unlike the authors' module, which rebuilds it on every call, it is built once per (H, W, device, dtype).
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

#: the authors' canvas (H, W)
CANVAS = (103, 80)
#: Gaussian radius and sigma of the blur (5 x 5 kernel)
RADIUS, SIGMA = 2, 1.0


def canvas_rows_cols() -> tuple[tuple[int, int], tuple[int, int]]:
    """The half-open (rows, cols) of ones on the canvas: ((32, 96), (8, 72)) (all from int(k * canvas width))."""
    w = CANVAS[1]
    return (int(0.4 * w), int(1.2 * w)), (int(0.1 * w), int(0.9 * w))


def blurred_canvas() -> np.ndarray:
    """The (99, 76) float64 mask before resizing: the canvas rectangle blurred by the 5 x 5 Gaussian, no padding."""
    (r0, r1), (c0, c1) = canvas_rows_cols()
    canvas = np.zeros(CANVAS)
    canvas[r0:r1, c0:c1] = 1
    taps = np.exp(-0.5 * (np.arange(-RADIUS, RADIUS + 1) / SIGMA) ** 2)
    taps /= taps.sum()                                   # the 2-D kernel outer(taps, taps) sums to 1, as theirs
    k = 2 * RADIUS + 1
    rows = sum(taps[i] * canvas[i:CANVAS[0] - k + 1 + i] for i in range(k))
    return sum(taps[j] * rows[:, j:CANVAS[1] - k + 1 + j] for j in range(k))


@functools.lru_cache(maxsize=16)
def _mask(h: int, w: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    small = torch.from_numpy(blurred_canvas()).float()[None, None]
    mask = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    return mask.to(device=device, dtype=dtype)


def mouth_mask(h: int, w: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(1, 1, H, W) mask (1 over the mouth, 0 away from it), cached: do not modify the returned tensor in place."""
    return _mask(int(h), int(w), str(torch.device(device)), dtype)


@functools.lru_cache(maxsize=16)
def _keep(h: int, w: int, device: str, dtype: torch.dtype) -> torch.Tensor:
    return 1 - _mask(h, w, device, dtype)


def keep_weights(h: int, w: int, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(1, 1, H, W) ``1 - mask``, the factor the input is multiplied by; cached, do not modify in place."""
    return _keep(int(h), int(w), str(torch.device(device)), dtype)


def mask_mouth(faces: torch.Tensor) -> torch.Tensor:
    """``faces * (1 - mask)`` for (B, C, H, W) (or (C, H, W)) aligned faces, as SmoothSqMask.forward."""
    if faces.ndim not in (3, 4):
        raise ValueError(f"expected (B, C, H, W) faces, got shape {tuple(faces.shape)}")
    dtype = faces.dtype if faces.is_floating_point() else torch.float32
    keep = keep_weights(faces.shape[-2], faces.shape[-1], faces.device, dtype)
    return faces * (keep[0] if faces.ndim == 3 else keep)
