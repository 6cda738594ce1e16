"""DaGAN multi-scale patch discriminator (Pix2Pix style), optionally conditioned on keypoint heatmaps.

State-dict keys as the authors': ``discs.<scale>.down_blocks.<i>.conv|norm``, ``discs.<scale>.conv``
(scale ``1`` -> ``"1"``, ``0.5`` -> ``"0-5"``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dagan.modules.blocks import kp2gaussian


class DiscriminatorBlock(nn.Module):
    """Conv (optionally spectral-normalised), optional instance norm, leaky ReLU, optional 2x2 average pooling."""

    def __init__(self, in_features: int, out_features: int, norm: bool = False, kernel_size: int = 4,
                 pool: bool = False, sn: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size=kernel_size)
        if sn:
            self.conv = nn.utils.spectral_norm(self.conv)
        self.norm = nn.InstanceNorm2d(out_features, affine=True) if norm else None
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        if self.norm is not None:
            out = self.norm(out)
        out = F.leaky_relu(out, 0.2)
        return F.avg_pool2d(out, (2, 2)) if self.pool else out


class Discriminator(nn.Module):
    def __init__(self, num_channels: int = 3, block_expansion: int = 64, num_blocks: int = 4,
                 max_features: int = 512, sn: bool = False, use_kp: bool = False, num_kp: int = 10,
                 kp_variance: float = 0.01, **_unused):
        super().__init__()
        blocks = []
        for i in range(num_blocks):
            in_features = (num_channels + num_kp * use_kp if i == 0
                           else min(max_features, block_expansion * (2 ** i)))
            blocks.append(DiscriminatorBlock(in_features, min(max_features, block_expansion * (2 ** (i + 1))),
                                             norm=i != 0, kernel_size=4, pool=i != num_blocks - 1, sn=sn))
        self.down_blocks = nn.ModuleList(blocks)
        last = min(max_features, block_expansion * (2 ** num_blocks))
        self.conv = nn.Conv2d(last, 1, kernel_size=1)
        if sn:
            self.conv = nn.utils.spectral_norm(self.conv)
        self.use_kp = use_kp
        self.kp_variance = kp_variance

    def forward(self, x: torch.Tensor, kp=None) -> tuple[list[torch.Tensor], torch.Tensor]:
        out = x
        if self.use_kp:
            out = torch.cat([out, kp2gaussian(kp["value"], x.shape[2:], self.kp_variance).to(x.dtype)], dim=1)
        feature_maps = []
        for block in self.down_blocks:
            out = block(out)
            feature_maps.append(out)
        return feature_maps, self.conv(out)


class MultiScaleDiscriminator(nn.Module):
    def __init__(self, scales=(), **kwargs):
        super().__init__()
        self.scales = scales
        self.discs = nn.ModuleDict({str(scale).replace(".", "-"): Discriminator(**kwargs) for scale in scales})

    def forward(self, x: dict[str, torch.Tensor], kp=None) -> dict[str, object]:
        """``x`` maps ``prediction_<scale>`` to images; returns feature maps and prediction maps per scale."""
        out = {}
        for name, disc in self.discs.items():
            scale = name.replace("-", ".")
            feature_maps, prediction_map = disc(x[f"prediction_{scale}"], kp)
            out[f"feature_maps_{scale}"] = feature_maps
            out[f"prediction_map_{scale}"] = prediction_map
        return out
