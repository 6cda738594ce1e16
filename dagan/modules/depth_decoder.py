"""Depth network decoder (monodepth2 DepthDecoder): features -> disparity in (0, 1).

Its blocks live in one ``decoder`` list whose positions are the checkpoint keys ``decoder.0 .. decoder.13``:
for levels 4..0 an ``upconv_0`` then an ``upconv_1`` block (0..9), then the disparity heads of scales 0..3 (10..13).
DaGAN uses only the full-resolution disparity (scale 0).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

DECODER_CHANNELS = (16, 32, 64, 128, 256)


class Conv3x3(nn.Module):
    """Reflection-padded 3x3 convolution."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(int(in_channels), int(out_channels), 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (1, 1, 1, 1), mode="reflect"))


class ConvBlock(nn.Module):
    """Conv3x3 followed by ELU."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = Conv3x3(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.elu(self.conv(x))


class DepthDecoder(nn.Module):
    def __init__(self, num_ch_enc=(64, 64, 128, 256, 512), scales=range(4), num_output_channels: int = 1):
        super().__init__()
        self.num_ch_enc = tuple(int(c) for c in num_ch_enc)
        self.scales = tuple(scales)
        dec = DECODER_CHANNELS
        blocks = []
        for i in range(4, -1, -1):
            blocks.append(ConvBlock(self.num_ch_enc[-1] if i == 4 else dec[i + 1], dec[i]))  # upconv_0
            blocks.append(ConvBlock(dec[i] + (self.num_ch_enc[i - 1] if i > 0 else 0), dec[i]))  # upconv_1
        for s in self.scales:
            blocks.append(Conv3x3(dec[s], num_output_channels))  # disparity head of scale s
        self.decoder = nn.ModuleList(blocks)

    def _upconv(self, level: int, which: int) -> ConvBlock:
        return self.decoder[2 * (4 - level) + which]

    def _dispconv(self, scale: int) -> Conv3x3:
        return self.decoder[10 + self.scales.index(scale)]

    def forward_scales(self, features: list[torch.Tensor], scales=(0,)) -> dict[int, torch.Tensor]:
        """Disparities {scale: (B, 1, h, w)} for the requested scales (0 = full resolution)."""
        outputs = {}
        x = features[-1]
        for i in range(4, -1, -1):
            x = F.interpolate(self._upconv(i, 0)(x), scale_factor=2, mode="nearest")
            if i > 0:
                x = torch.cat([x, features[i - 1]], dim=1)
            x = self._upconv(i, 1)(x)
            if i in scales:
                outputs[i] = torch.sigmoid(self._dispconv(i)(x))
        return outputs

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """The full-resolution disparity (B, 1, H, W), the only one DaGAN uses."""
        return self.forward_scales(features, scales=(0,))[0]
