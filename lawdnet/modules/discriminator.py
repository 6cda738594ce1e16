"""The LawDNet/DINet patch discriminator (net_dI on 3-channel frames, net_dV on 15-channel 5-frame stacks)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DownBlock2d(nn.Module):
    """Conv k4 (no padding) → LeakyReLU 0.2 → [AvgPool 2]."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 4, pool: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(in_channels=in_features, out_channels=out_features, kernel_size=kernel_size)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.leaky_relu(self.conv(x), 0.2)
        return F.avg_pool2d(out, (2, 2)) if self.pool else out


class Discriminator(nn.Module):
    """``num_blocks`` down blocks (channels min(max_features, block_expansion·2^(i+1))), then a 1×1 conv → 1.
    Defaults are the training configs' (D_block_expansion 64, D_num_blocks 4, D_max_features 256). Returns
    (feature maps of every block, score map); on CUDA under autocast, as the authors' forward."""

    def __init__(self, num_channels: int, block_expansion: int = 64, num_blocks: int = 4, max_features: int = 256):
        super().__init__()
        self.down_blocks = nn.ModuleList(
            DownBlock2d(num_channels if i == 0 else min(max_features, block_expansion * (2 ** i)),
                        min(max_features, block_expansion * (2 ** (i + 1))), kernel_size=4, pool=(i != num_blocks - 1))
            for i in range(num_blocks))
        self.conv = nn.Conv2d(self.down_blocks[-1].conv.out_channels, out_channels=1, kernel_size=1)

    def _forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        feature_maps, out = [], x
        for block in self.down_blocks:
            out = block(out)
            feature_maps.append(out)
        return feature_maps, self.conv(out)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        if x.is_cuda:
            with torch.autocast("cuda"):
                return self._forward(x)
        return self._forward(x)
