"""Building blocks of DINet (conv → BatchNorm → ReLU) and LawDNet (the same without BatchNorm in the forward pass).

Attribute names (``conv``, ``norm``, ``conv1``, ``conv2``, ``norm1``, ``norm2``, ``channel_conv``) are part of the
checkpoint format: they give the state-dict keys of the authors' files. ``bn=True`` is DINet's block (the authors'
SynchronizedBatchNorm, which in eval mode is plain batch norm: ``nn.BatchNorm1d/2d`` has the same parameters and
buffers); ``bn=False`` is LawDNet's. LawDNet's ``ResBlock1d`` still constructs ``norm1``/``norm2`` without using them
(``unused_bn=True``), so that its checkpoints load strictly.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_NORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d}


class _ConvBlock(nn.Module):
    """conv (stride ``stride``) → [BatchNorm] → ReLU."""

    dims = 2
    stride = 1

    def __init__(self, in_features: int, out_features: int, kernel_size=3, padding=1, bn: bool = True):
        super().__init__()
        self.conv = _CONV[self.dims](in_features, out_features, kernel_size=kernel_size, padding=padding,
                                     stride=self.stride)
        if bn:
            self.norm = _NORM[self.dims](out_features)
        self.bn = bn
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        if self.bn:
            out = self.norm(out)
        return self.relu(out)


class SameBlock1d(_ConvBlock):
    """1-D conv → [BN] → ReLU keeping the length."""

    dims = 1


class SameBlock2d(_ConvBlock):
    """2-D conv → [BN] → ReLU keeping the resolution."""


class DownBlock1d(_ConvBlock):
    """1-D conv with stride 2 → [BN] → ReLU."""

    dims, stride = 1, 2


class DownBlock2d(_ConvBlock):
    """2-D conv with stride 2 → [BN] → ReLU."""

    stride = 2


class UpBlock2d(_ConvBlock):
    """Nearest ×2 upsampling → conv → [BN] → ReLU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(F.interpolate(x, scale_factor=2))
        if self.bn:
            out = self.norm(out)
        return F.relu(out)


class _ResBlock(nn.Module):
    """Residual block: DINet ``BN → ReLU → conv1 → BN → ReLU → conv2`` (``bn=True``) or LawDNet ``conv1 → ReLU →
    conv2`` (``bn=False``), plus the input (through a 1×1 ``channel_conv`` when the channel count changes)."""

    dims = 2

    def __init__(self, in_features: int, out_features: int, kernel_size=3, padding=1, bn: bool = True,
                 unused_bn: bool = False):
        super().__init__()
        conv = _CONV[self.dims]
        self.in_features, self.out_features = in_features, out_features
        self.conv1 = conv(in_features, in_features, kernel_size=kernel_size, padding=padding)
        self.conv2 = conv(in_features, out_features, kernel_size=kernel_size, padding=padding)
        if out_features != in_features:
            self.channel_conv = conv(in_features, out_features, 1)
        if bn or unused_bn:
            self.norm1 = _NORM[self.dims](in_features)
            self.norm2 = _NORM[self.dims](in_features)
        self.bn = bn
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bn:
            out = self.conv1(self.relu(self.norm1(x)))
            out = self.conv2(self.relu(self.norm2(out)))
        else:
            out = self.conv2(self.relu(self.conv1(x)))
        if self.in_features != self.out_features:
            out += self.channel_conv(x)
        else:
            out += x
        return out


class ResBlock1d(_ResBlock):
    """1-D residual block (see :class:`_ResBlock`)."""

    dims = 1


class ResBlock2d(_ResBlock):
    """2-D residual block (see :class:`_ResBlock`)."""
