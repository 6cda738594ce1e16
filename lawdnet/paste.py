"""Pasting the generated face crop back into the frame: feathered bilinear (ours) and the authors' integer paste.

    out = paste_back(generated, frames, matrices)            # (B, 3, h, w), (B, 3, H, W) float 0-255 -> (B, 3, H, W)
    out = paste_back_authors(generated, frames, matrices)    # FaceAlign.recover, re-implemented exactly

**paste_back** inverts the mapping the warp really applied (:func:`lawdnet.face_align.effective_matrices`): every
frame pixel inside the crop's bounding box is mapped into the crop and the generated crop is sampled there
bilinearly (pixel centres, edge pixels repeated), then blended with the frame by an alpha that is 0 on and outside
the crop's border and rises to 1 over ``feather`` crop pixels inward (a smoothstep of the distance to the nearest crop
edge; default :data:`FEATHER` = 3 % of the crop width, 10.8 px for the 360-px crop of mouth 288). So pixels outside the
crop are untouched, the seam has no step, and everything more than ``feather`` inside the crop (the whole mouth
mask, whose nearest edge, the bottom, is 3.3 % of the width away at 360 px) is the generated crop. Only the bounding
box is computed, so the cost does not grow with the frame size.

**paste_back_authors** is ``tensor_processing.FaceAlign.recover`` (LawDNet_2024 76a14bb): each crop pixel (j, i) is
moved by the inverse of the *matrix* (not of the mapping the warp applied; up to a pixel off), truncated towards zero
to integers (``.long()``) and written into that frame pixel (``index_put``, no blending). Frame pixels no crop pixel
lands on keep the frame (holes when the face is larger in the frame than in the crop); where several land on one
pixel, the last in row-major crop order wins (the authors' CPU ``index_put`` run serially; on CUDA or with several
threads theirs picks one arbitrarily). Negative indices wrap around like theirs; indices past the bottom or right edge
make theirs fail with an IndexError, here a ValueError, or with ``outside="drop"`` such pixels are skipped. The index
arithmetic is theirs in float32, so the truncation hits the same pixels. Unlike theirs (for a batch of one), the
input frames are never modified.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from lawdnet.face_align import effective_matrices

#: default feather width as a fraction of the crop width (crop pixels)
FEATHER = 0.03


def _smoothstep(t: torch.Tensor) -> torch.Tensor:
    t = t.clamp(0, 1)
    return t * t * (3 - 2 * t)


def crop_alpha(qx: torch.Tensor, qy: torch.Tensor, crop_size: tuple[int, int], feather: float) -> torch.Tensor:
    """Blend weight at crop positions (qx, qy) (pixel centres at integers): smoothstep of the distance to the nearest
    crop edge (the outer border of the edge pixels, -0.5 and n - 0.5) over ``feather`` pixels; 0 outside the crop."""
    h, w = crop_size
    dist = torch.minimum(torch.minimum(qx + 0.5, w - 0.5 - qx), torch.minimum(qy + 0.5, h - 0.5 - qy))
    return _smoothstep(dist / max(feather, 1e-6))


def crop_box(inverse: np.ndarray, frame_size: tuple[int, int], crop_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) half-open frame rows / cols whose pixel centres may fall in the crop, clipped to the
    frame (empty when top >= bottom or left >= right). ``inverse``: (3, 3) crop pixels -> frame pixels."""
    (fh, fw), (h, w) = frame_size, crop_size
    corners = np.array([[-0.5, -0.5, 1], [w - 0.5, -0.5, 1], [-0.5, h - 0.5, 1], [w - 0.5, h - 0.5, 1]]) @ inverse.T
    xs, ys = corners[:, 0] / corners[:, 2], corners[:, 1] / corners[:, 2]
    left, right = max(0, int(np.floor(xs.min()))), min(fw, int(np.ceil(xs.max())) + 1)
    top, bottom = max(0, int(np.floor(ys.min()))), min(fh, int(np.ceil(ys.max())) + 1)
    return top, bottom, left, right


def paste_back(generated: torch.Tensor, frames: torch.Tensor, matrices, feather: float | None = None) -> torch.Tensor:
    """Frames (B, C, H, W) with the generated crops (B, C, h, w) blended in (see the module docstring); a new tensor.

    ``matrices``: the (B, 3, 3) align matrices the crops were warped with (:func:`lawdnet.face_align.align_matrices`);
    ``feather``: the seam width in crop pixels (default FEATHER x crop width)."""
    if generated.ndim != 4 or frames.ndim != 4 or generated.shape[:2] != frames.shape[:2]:
        raise ValueError(f"expected generated (B, C, h, w) and frames (B, C, H, W), got {tuple(generated.shape)} "
                         f"and {tuple(frames.shape)}")
    batch, _, fh, fw = frames.shape
    h, w = generated.shape[-2:]
    feather = FEATHER * w if feather is None else float(feather)
    forward = effective_matrices(matrices, (fh, fw), (h, w))
    out = frames.float().clone() if not frames.is_floating_point() else frames.clone()
    gen = generated.to(device=out.device, dtype=out.dtype)
    for b in range(batch):
        top, bottom, left, right = crop_box(np.linalg.inv(forward[b]), (fh, fw), (h, w))
        if top >= bottom or left >= right:
            continue
        ys, xs = np.mgrid[top:bottom, left:right].astype(np.float64)
        m = forward[b]
        qx = m[0, 0] * xs + m[0, 1] * ys + m[0, 2]
        qy = m[1, 0] * xs + m[1, 1] * ys + m[1, 2]
        q = torch.from_numpy(np.stack([qx, qy], -1)).to(device=out.device)
        grid = (q * 2 + 1) / torch.tensor([w, h], dtype=q.dtype, device=q.device) - 1
        sample = F.grid_sample(gen[b:b + 1], grid[None].to(out.dtype), mode="bilinear", padding_mode="border",
                               align_corners=False)[0]
        alpha = crop_alpha(q[..., 0], q[..., 1], (h, w), feather).to(out.dtype)
        region = out[b, :, top:bottom, left:right]
        out[b, :, top:bottom, left:right] = region + alpha * (sample - region)
    return out


def authors_indices(matrices: torch.Tensor, crop_size: tuple[int, int], batch: int) -> torch.Tensor:
    """(B, h, w, 2) int64 frame (x, y) each crop pixel is written to by the authors' recover (their float32 steps:
    pixel-centre grid in [-1, 1] mapped back to indices, times the inverse matrix, truncated towards zero)."""
    h, w = crop_size
    device = matrices.device
    n = torch.tensor([w, h], dtype=torch.float32, device=device)            # (x, y) sizes
    axes = [torch.linspace(-1 + 1 / k, 1 - 1 / k, k, device=device) for k in (h, w)]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).flip(-1)
    grid = grid.unsqueeze(0).expand(batch, h, w, 2)
    index = (grid + 1.0 - 1.0 / n) * (n - 1) / (2 - 2 / n)                   # = (j, i), up to float32 rounding
    inverse = torch.inverse(matrices.to(torch.float32))
    moved = torch.matmul(index.reshape(batch, -1, 2), inverse[:, :2, :2].transpose(-1, -2))
    moved = moved + inverse[:, :2, -1:].transpose(-1, -2)
    return moved.view(batch, h, w, 2).long()


def paste_back_authors(generated: torch.Tensor, frames: torch.Tensor, matrices: torch.Tensor,
                       outside: str = "error") -> torch.Tensor:
    """The authors' FaceAlign.recover (see the module docstring); a new tensor. ``outside``: "error" (a crop pixel
    lands past the bottom/right edge: ValueError, where theirs raises IndexError) or "drop" (skip every crop pixel
    outside the frame, negative ones included, instead of wrapping)."""
    if outside not in ("error", "drop"):
        raise ValueError(f"outside must be 'error' or 'drop', got {outside!r}")
    batch, channels, fh, fw = frames.shape
    h, w = generated.shape[-2:]
    idx = authors_indices(matrices.to(frames.device), (h, w), batch).reshape(batch, -1, 2)
    x, y = idx[..., 0], idx[..., 1]
    b = torch.arange(batch, device=frames.device).view(batch, 1).expand_as(x)
    values = generated.to(frames.dtype).reshape(batch, channels, -1).permute(0, 2, 1)     # (B, h*w, C)
    inside = (x < fw) & (y < fh) & (x >= -fw) & (y >= -fh)
    if outside == "drop":
        inside &= (x >= 0) & (y >= 0)
    elif not bool(inside.all()):
        bad = idx[~inside][0].tolist()
        raise ValueError(f"the crop reaches outside the {fw}x{fh} frame (pixel x, y = {bad}); the authors' recover "
                         "fails here (IndexError); use outside='drop'")
    if not bool(inside.all()):
        b, x, y, values = b[inside], x[inside], y[inside], values[inside]
    # last write wins, as a serial index_put: keep the last crop pixel landing on every frame pixel
    y, x = y % fh, x % fw                                                     # negative indices wrap, as theirs
    pixel = ((b * fh + y) * fw + x).reshape(-1)
    order = torch.arange(pixel.numel(), device=pixel.device)
    last = torch.full((batch * fh * fw,), -1, dtype=order.dtype, device=pixel.device)
    keep = last.scatter_reduce_(0, pixel, order, reduce="amax")
    keep = keep[keep >= 0]
    target = (b * channels * fh * fw + y * fw + x).reshape(-1)[keep]            # channel 0 of each target pixel
    values = values.reshape(-1, channels)[keep]
    out = frames.clone(memory_format=torch.contiguous_format)
    flat_out = out.view(-1)
    for c in range(channels):
        flat_out[target + c * fh * fw] = values[:, c]
    return out
