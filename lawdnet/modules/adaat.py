"""DINet's AdaAT operator: a per-channel rotation, scale and translation of the feature map, sampled in 3-D."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def make_coordinate_grid_3d(spatial_size: tuple[int, int, int], dtype: torch.dtype = torch.float32,
                            device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The authors' grid: (d, h, w, 2) (x, y) and (d, h, w) z, each axis ``2 * (i / (n - 1)) - 1`` (ends included)."""
    d, h, w = spatial_size
    x = torch.arange(w, device=device).to(dtype)
    y = torch.arange(h, device=device).to(dtype)
    z = torch.arange(d, device=device).to(dtype)
    x = 2 * (x / (w - 1)) - 1
    y = 2 * (y / (h - 1)) - 1
    z = 2 * (z / (d - 1)) - 1
    yy = y.view(1, -1, 1).repeat(d, 1, w)
    xx = x.view(1, 1, -1).repeat(d, h, 1)
    zz = z.view(-1, 1, 1).repeat(1, h, w)
    return torch.cat([xx.unsqueeze(3), yy.unsqueeze(3)], 3), zz


class AdaAT(nn.Module):
    """Channel k of (B, C, H, W) is resampled at ``R(angle_k) · (x, y) · scale_k + t_k`` and depth z_k, with
    angle = tanh(·)·3.14159, scale = sigmoid(·)·2, t = tanh(·) from the code (B, ``para_ch``). ``grid_sample``
    without align_corners (False), as the authors call it, so even identity parameters are not the identity."""

    def __init__(self, para_ch: int, feature_ch: int):
        super().__init__()
        self.para_ch, self.feature_ch = para_ch, feature_ch
        self.commn_linear = nn.Sequential(nn.Linear(para_ch, para_ch), nn.ReLU())
        self.scale = nn.Sequential(nn.Linear(para_ch, feature_ch), nn.Sigmoid())
        self.rotation = nn.Sequential(nn.Linear(para_ch, feature_ch), nn.Tanh())
        self.translation = nn.Sequential(nn.Linear(para_ch, 2 * feature_ch), nn.Tanh())

    def forward(self, feature_map: torch.Tensor, para_code: torch.Tensor) -> torch.Tensor:
        batch, d, h, w = feature_map.shape
        para_code = self.commn_linear(para_code)
        scale = self.scale(para_code).unsqueeze(-1) * 2
        angle = self.rotation(para_code).unsqueeze(-1) * 3.14159
        rotation = torch.cat([torch.cos(angle), -torch.sin(angle), torch.sin(angle), torch.cos(angle)], -1)
        rotation = rotation.view(batch, self.feature_ch, 2, 2)
        translation = self.translation(para_code).view(batch, self.feature_ch, 2)
        grid_xy, grid_z = make_coordinate_grid_3d((d, h, w), feature_map.dtype, feature_map.device)
        grid_xy = grid_xy.unsqueeze(0).repeat(batch, 1, 1, 1, 1)
        grid_z = grid_z.unsqueeze(0).repeat(batch, 1, 1, 1)
        scale = scale.unsqueeze(2).unsqueeze(3).repeat(1, 1, h, w, 1)
        rotation = rotation.unsqueeze(2).unsqueeze(3).repeat(1, 1, h, w, 1, 1)
        translation = translation.unsqueeze(2).unsqueeze(3).repeat(1, 1, h, w, 1)
        trans_grid = torch.matmul(rotation, grid_xy.unsqueeze(-1)).squeeze(-1) * scale + translation
        full_grid = torch.cat([trans_grid, grid_z.unsqueeze(-1)], -1)
        return F.grid_sample(feature_map.unsqueeze(1), full_grid, align_corners=False).squeeze(1)
