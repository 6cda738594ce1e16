"""LawDNet's LocalAffineWarp: per-channel local similarity warps around learned keypoints, sampled in 3-D.

The authors' warp (iPaw-AI-LAB/LawDNet_2024 ``models/LawDNet.py``), op for op. Its grid goes through a reshape chain
that scrambles the (x, y) layout of the 60×60 coarse grid before it is resized to the feature map (even identity
parameters do not give an identity warp); the trained weights depend on it, so :func:`authors_grid_layout`
reproduces it literally, including the two ``torchvision.transforms.Resize((H, W))`` calls (bilinear; the second one
is a no-op at the same size). ``resize_antialias`` is the Resize default of the torchvision that runs: True since
torchvision 0.17 (it only matters where the grid is downsampled, mouth 64 and 128).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

#: feature channels whose coarse grids are computed at a time (bounds the temporaries; any value gives the same)
CHANNEL_CHUNK = 32


def standard_grid(size: tuple[int, int], device: torch.device | str | None = None) -> torch.Tensor:
    """The authors' ``torch_affine_ops.standard_grid`` for batch 1: (1, H, W, 2) cell centres
    ``linspace(-1 + 1/n, 1 - 1/n, n)`` per axis, meshgrid 'ij', flipped to (x, y)."""
    coords = [torch.linspace(-1 + 1 / n, 1 - 1 / n, n, device=device) for n in size]
    grid = torch.stack(torch.meshgrid(*coords, indexing="ij"), dim=-1)
    return torch.flip(grid, dims=[-1]).contiguous().unsqueeze(0)


def authors_grid_layout(grid: torch.Tensor, size: tuple[int, int], antialias: bool = True) -> torch.Tensor:
    """(B, C, H0, W0, 2) warped coarse grid → (B, C, H, W, 2) sampling grid, exactly as the authors reshape it:
    ``.transpose(-1, -2).permute(0, 1, 4, 2, 3).contiguous().view(B, 2C, H0, W0)``, Resize((H, W)) twice,
    ``.view(B, C, 2, H, W).permute(0, 1, 3, 4, 2)``. Not a plain channels-first resize: the view mixes x and y."""
    B, C, H0, W0, _ = grid.shape
    H, W = size
    grid = grid.transpose(-1, -2).permute(0, 1, 4, 2, 3).contiguous().view(B, C * 2, H0, W0)
    for _ in range(2):
        grid = TF.resize(grid, [H, W], interpolation=InterpolationMode.BILINEAR, antialias=antialias)
    return grid.view(B, C, 2, H, W).permute(0, 1, 3, 4, 2)


class LocalAffineWarp(nn.Module):
    """Warps each of ``feature_ch`` channels by a blend of ``num_kpoints`` local similarity transforms whose
    keypoints, radii and (scale, angle, translation) come from a parameter code (B, ``para_ch``)."""

    def __init__(self, para_ch: int = 256, num_kpoints: int = 5, feature_ch: int = 256,
                 standard_grid_size: tuple[int, int] = (60, 60), resize_antialias: bool = True):
        super().__init__()
        self.para_ch, self.num_kpoints, self.feature_ch = para_ch, num_kpoints, feature_ch
        self.resize_antialias = resize_antialias
        self.commn_linear = nn.Sequential(nn.Linear(para_ch, para_ch), nn.ReLU())
        self.kpoints_normalized_layer = nn.Sequential(nn.Linear(para_ch, 2 * num_kpoints * feature_ch), nn.Tanh())
        self.similarity_params_layer = nn.Sequential(nn.Linear(para_ch, 4 * num_kpoints * feature_ch), nn.Tanh())
        self.radius_layer = nn.Sequential(nn.Linear(para_ch, num_kpoints * feature_ch), nn.Sigmoid())
        # not in the authors' state dict: a non-persistent buffer, so that it follows .to(device)
        self.register_buffer("standard_grid", standard_grid(tuple(standard_grid_size), device="cpu"),
                             persistent=False)

    def forward(self, feature_map: torch.Tensor, para_code: torch.Tensor) -> torch.Tensor:
        B = feature_map.shape[0]
        para_code = self.commn_linear(para_code)
        kpoints = self.kpoints_normalized_layer(para_code).view(B, self.num_kpoints, self.feature_ch, 2)
        radius = self.radius_layer(para_code).view(B, self.num_kpoints, self.feature_ch, 1)
        similarity = self.similarity_params_layer(para_code).view(B, self.num_kpoints, self.feature_ch, 4)
        return self.warp(feature_map, kpoints, radius, similarity)

    def coarse_grid(self, kpoints: torch.Tensor, radius: torch.Tensor, similarity: torch.Tensor) -> torch.Tensor:
        """The blended (B, C, H0, W0, 2) grid on the 60×60 coarse lattice, before the authors' reshape chain.

        The authors' formulas — offset g − k, w = exp(−‖offset‖ / r), scale (s0 + 1) w + (1 − w), angle s1 π w,
        p = scale · (offset Rᵀ) + (s2, s3) w + k with R = [[cos, sin], [−sin, cos]], softmax(w) over the keypoints —
        written per coordinate instead of through a (…, 1, 2) × (2, 2) matmul on concatenated rotation matrices,
        and evaluated :data:`CHANNEL_CHUNK` channels at a time: their temporaries at batch 20 are ~0.4 GB per
        field (several GB in all), these stay ~1/8 of that and run ~3x faster on a CPU. The channels are
        independent, so only float rounding differs (≤ 5e-7 on the grid; the golden test holds the output)."""
        B, N, C = kpoints.shape[:3]
        grid0 = self.standard_grid.to(device=kpoints.device, dtype=torch.float32)      # (1, H0, W0, 2)
        H0, W0 = grid0.shape[1:3]
        gx, gy = grid0[..., 0].reshape(1, 1, 1, H0 * W0), grid0[..., 1].reshape(1, 1, 1, H0 * W0)
        out = torch.empty(B, C, H0 * W0, 2, device=kpoints.device, dtype=kpoints.dtype)
        for c0 in range(0, C, CHANNEL_CHUNK):
            ch = slice(c0, c0 + CHANNEL_CHUNK)
            kx, ky = kpoints[:, :, ch, 0:1], kpoints[:, :, ch, 1:2]                     # B N c 1
            ox, oy = gx - kx, gy - ky                                                    # B N c P
            weight = torch.exp(-torch.sqrt(ox * ox + oy * oy) / radius[:, :, ch])
            scale = (similarity[:, :, ch, 0:1] + 1) * weight + (1 - weight) * 1.0
            angle = similarity[:, :, ch, 1:2] * torch.pi * weight
            cos, sin = torch.cos(angle), torch.sin(angle)
            blend = F.softmax(weight, dim=1)
            px = scale * (ox * cos + oy * sin) + similarity[:, :, ch, 2:3] * weight + kx
            py = scale * (oy * cos - ox * sin) + similarity[:, :, ch, 3:4] * weight + ky
            out[:, ch, :, 0] = (px * blend).sum(dim=1)
            out[:, ch, :, 1] = (py * blend).sum(dim=1)
        return out.view(B, C, H0, W0, 2)

    def warp(self, feature_map: torch.Tensor, kpoints: torch.Tensor, radius: torch.Tensor,
             similarity: torch.Tensor) -> torch.Tensor:
        """Sample ``feature_map`` (B, C, H, W) at the warped grid, channel k read at depth
        ``linspace(-1 + 1/C, 1 - 1/C, C)[k]`` (3-D grid_sample, bilinear, zeros, align_corners False)."""
        B, C, H, W = feature_map.shape
        grid2d = authors_grid_layout(self.coarse_grid(kpoints, radius, similarity), (H, W), self.resize_antialias)
        depth = torch.linspace(-1 + 1 / C, 1 - 1 / C, C, device=feature_map.device)
        depth = depth.view(1, C, 1, 1, 1).expand(B, C, H, W, 1)
        grid3d = torch.cat([grid2d, depth], dim=-1)
        return F.grid_sample(feature_map.unsqueeze(1), grid3d, align_corners=False).squeeze(1)
