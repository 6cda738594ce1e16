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
        Same operations in the same order as theirs (only the ``repeat``s are left to broadcasting)."""
        B, N, C = kpoints.shape[:3]
        grid0 = self.standard_grid.to(device=kpoints.device, dtype=torch.float32)      # (1, H0, W0, 2)
        H0, W0 = grid0.shape[1:3]
        identity = grid0.view(1, 1, 1, H0, W0, 1, 2)
        offset = identity - kpoints.view(B, N, C, 1, 1, 1, 2)                         # B N C H0 W0 1 2
        dist = torch.norm(offset, dim=-1)                                              # B N C H0 W0 1
        weight = torch.exp(-dist / radius.view(B, N, C, 1, 1, 1))
        scale = (similarity[:, :, :, 0:1] + 1).view(B, N, C, 1, 1, 1) * weight + (1 - weight) * 1.0
        angle = (similarity[:, :, :, 1:2] * torch.pi).view(B, N, C, 1, 1, 1) * weight
        trans = similarity[:, :, :, -2:].view(B, N, C, 1, 1, 2) * weight
        rotation = torch.cat([torch.cos(angle), torch.sin(angle), -torch.sin(angle), torch.cos(angle)],
                             dim=-1).view(B, N, C, H0, W0, 2, 2)
        warped = (scale * offset.matmul(rotation.transpose(-1, -2))
                  .view(B, N, C, H0, W0, 2) + trans + kpoints.view(B, N, C, 1, 1, 2))
        blend = F.softmax(weight, dim=1)
        return (warped * blend).sum(dim=1)                                             # B C H0 W0 2

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
