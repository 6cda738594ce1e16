"""The training image grid logged to TensorBoard: source | driving | prediction | depth | keypoints, one row per item.

Keypoints are drawn as filled squares (the authors' visualizer draws discs of ``kp_size`` 5) in colours spread over
the hue circle (their ``gist_rainbow`` colormap): source keypoints on the source column, driving keypoints on the
keypoint column (over the driving frame).
"""
from __future__ import annotations

import colorsys
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

MAX_ROWS = 4


def _colours(count: int) -> torch.Tensor:
    return torch.tensor([colorsys.hsv_to_rgb(i / max(count, 1), 1.0, 1.0) for i in range(count)], dtype=torch.float32)


def draw_keypoints(images: torch.Tensor, kp: torch.Tensor, size: int = 5) -> torch.Tensor:
    """``images`` (B, 3, H, W) in [0, 1], ``kp`` (B, K, 2) in [-1, 1] (x, y) -> a copy with the keypoints drawn."""
    out = images.clone()
    _, _, height, width = out.shape
    colours = _colours(kp.shape[1])
    half = size // 2
    for b in range(out.shape[0]):
        for k in range(kp.shape[1]):
            x = int(round((float(kp[b, k, 0]) + 1) / 2 * (width - 1)))
            y = int(round((float(kp[b, k, 1]) + 1) / 2 * (height - 1)))
            x0, x1 = max(0, x - half), min(width, x + half + 1)
            y0, y1 = max(0, y - half), min(height, y + half + 1)
            if x0 < x1 and y0 < y1:
                out[b, :, y0:y1, x0:x1] = colours[k].view(3, 1, 1)
    return out


def training_grid(source: torch.Tensor, driving: torch.Tensor, generated: Mapping[str, Any]) -> torch.Tensor:
    """(3, rows·H, 5·W) float in [0, 1] from a batch and the generator losses' ``generated`` dict."""
    rows = min(MAX_ROWS, source.shape[0])
    src = source[:rows].detach().float().cpu().clamp(0, 1)
    drv = driving[:rows].detach().float().cpu().clamp(0, 1)
    size = src.shape[2:]
    pred = generated["prediction"][:rows].detach().float().cpu().clamp(0, 1)
    pred = F.interpolate(pred, size=size, mode="bilinear", align_corners=False) if pred.shape[2:] != size else pred
    depth = generated.get("depth_driving")
    if depth is None:
        depth = torch.zeros_like(drv[:, :1])
    depth = depth[:rows].detach().float().cpu()
    depth = (depth - depth.amin(dim=(1, 2, 3), keepdim=True)) / (
        depth.amax(dim=(1, 2, 3), keepdim=True) - depth.amin(dim=(1, 2, 3), keepdim=True)).clamp_min(1e-8)
    depth = F.interpolate(depth, size=size, mode="bilinear", align_corners=False).expand(-1, 3, -1, -1)
    kp_src = generated["kp_source"]["value"][:rows].detach().float().cpu()
    kp_drv = generated["kp_driving"]["value"][:rows].detach().float().cpu()
    columns = [draw_keypoints(src, kp_src), drv, pred, depth, draw_keypoints(drv, kp_drv)]
    grid = torch.cat(columns, dim=3)                 # (rows, 3, H, 5W)
    return torch.cat(list(grid), dim=1)              # (3, rows·H, 5W)
