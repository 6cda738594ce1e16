"""OpenFace nn4.small2.v1 (the 128-d face embedding of FOMM's AED), in plain modern torch.

The layout is that of OpenFacePytorch's ``netOpenFace`` (thnkim/OpenFacePytorch ``loadOpenFace.py``, the
submodule FOMM's pose-evaluation pins at d00221832413e86b5608ca791c956b7949479627): the same module names
(``layer1`` .. ``layer25``, ``Inception.seq_list.<branch>.<n>_conv|bn``), so its published ``openface.pth`` (a
plain state dict without ``num_batches_tracked``) loads strictly. The expected keys and shapes are in
``tests/data/layouts/openface_nn4_small2.json``, listed from their module tree.

Numerics follow what FOMM ran (torch 0.4.1): the cross-map LRN is OpenFacePytorch's ``SpatialCrossMapLRN_temp``,
a port of torch.legacy's SpatialCrossMapLRN whose running window never subtracts channel 0 again: for channel
``c >= 3`` the sum of squares is over channels ``c-2 .. c+2`` **plus channel 0** (``c > prePad`` where Lua's
1-based ``c > prePad`` meant ``c >= prePad``). ``torch.nn.LocalResponseNorm`` (their fallback on torch >= 1.0)
omits that term, so :class:`LegacyCrossMapLRN` computes it explicitly:
``y = x * (k + alpha / size * S) ** -beta``.

Inception blocks pad every branch with zeros to the largest branch's height and width, centred (floor on the
left / top), then concatenate in branch order (nxn convs, pool, 1x1 reduce), exactly as their forward does. The
output is the embedding divided by ``sqrt(sum x**2 + 1e-6)``.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


class LegacyCrossMapLRN(nn.Module):
    """Cross-channel LRN with torch.legacy's off-by-one (see the module docstring); no parameters."""

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        square = x * x
        pre = (self.size - 1) // 2 + 1             # the legacy code's prePad: window c-(pre-1) .. c+(pre-1)
        padded = F.pad(square, (0, 0, 0, 0, pre - 1, pre - 1))
        total = sum(padded[:, i:i + channels] for i in range(2 * pre - 1))
        if channels > pre:
            stale = torch.zeros_like(total)
            stale[:, pre:] = square[:, :1]         # channel 0, never subtracted once the window has moved on
            total = total + stale
        scale = total * (self.alpha / self.size) + self.k
        return x * scale.pow(-self.beta)

    def extra_repr(self) -> str:
        return f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding)


class Inception(nn.Module):
    """One nn4.small2 inception block: ``seq_list`` = nxn branches, the pool branch, then the 1x1 reduce branch.

    ``reduce`` lists the 1x1 widths of the nxn branches, then the pool branch's 1x1 conv and the reduce branch
    (``None`` where the block has none), as in OpenFacePytorch's ``Inception(inputSize, kernelSize, kernelStride,
    outputSize, reduceSize, pool, ...)``.
    """

    def __init__(self, cin: int, kernels: tuple[int, ...], strides: tuple[int, ...], outs: tuple[int, ...],
                 reduce: tuple[int | None, ...], pool: nn.Module):
        super().__init__()
        branches = []
        for kernel, stride, out, mid in zip(kernels, strides, outs, reduce[:len(kernels)], strict=True):
            branches.append(nn.Sequential(OrderedDict([
                ("1_conv", _conv(cin, mid, 1)), ("2_bn", nn.BatchNorm2d(mid)), ("3_relu", nn.ReLU()),
                ("4_conv", _conv(mid, out, kernel, stride, kernel // 2)), ("5_bn", nn.BatchNorm2d(out)),
                ("6_relu", nn.ReLU())])))
        n = len(kernels)
        pooled: OrderedDict[str, nn.Module] = OrderedDict([("1_pool", pool)])
        if n < len(reduce) and reduce[n] is not None:
            pooled.update([("2_conv", _conv(cin, reduce[n], 1)), ("3_bn", nn.BatchNorm2d(reduce[n])),
                           ("4_relu", nn.ReLU())])
        branches.append(nn.Sequential(pooled))
        if n + 1 < len(reduce) and reduce[n + 1] is not None:
            width = reduce[n + 1]
            branches.append(nn.Sequential(OrderedDict([
                ("1_conv", _conv(cin, width, 1)), ("2_bn", nn.BatchNorm2d(width)), ("3_relu", nn.ReLU())])))
        self.seq_list = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ys = [branch(x) for branch in self.seq_list]
        height = max(y.shape[2] for y in ys)
        width = max(y.shape[3] for y in ys)
        out = []
        for y in ys:
            top, left = (height - y.shape[2]) // 2, (width - y.shape[3]) // 2
            out.append(F.pad(y, (left, width - y.shape[3] - left, top, height - y.shape[2] - top)))
        return torch.cat(out, 1)


def _max3(stride: int = 2, padding: int = 0) -> nn.MaxPool2d:
    return nn.MaxPool2d((3, 3), stride=(stride, stride), padding=(padding, padding))


def _lp3() -> nn.LPPool2d:
    return nn.LPPool2d(2, (3, 3), stride=(3, 3))


class OpenFaceNN4Small2(nn.Module):
    """nn4.small2.v1: (N, 3, 96, 96) float BGR in [0, 1] -> (N, 128) unit-norm embedding (``x_736`` not kept)."""

    EMBEDDING_DIM = 128
    INPUT_SIZE = 96

    def __init__(self):
        super().__init__()
        self.layer1 = _conv(3, 64, 7, 2, 3)
        self.layer2 = nn.BatchNorm2d(64)
        self.layer3 = nn.ReLU()
        self.layer4 = _max3(2, 1)
        self.layer5 = LegacyCrossMapLRN(5, 1e-4, 0.75, 1.0)
        self.layer6 = _conv(64, 64, 1)
        self.layer7 = nn.BatchNorm2d(64)
        self.layer8 = nn.ReLU()
        self.layer9 = _conv(64, 192, 3, 1, 1)
        self.layer10 = nn.BatchNorm2d(192)
        self.layer11 = nn.ReLU()
        self.layer12 = LegacyCrossMapLRN(5, 1e-4, 0.75, 1.0)
        self.layer13 = _max3(2, 1)
        self.layer14 = Inception(192, (3, 5), (1, 1), (128, 32), (96, 16, 32, 64), _max3())
        self.layer15 = Inception(256, (3, 5), (1, 1), (128, 64), (96, 32, 64, 64), _lp3())
        self.layer16 = Inception(320, (3, 5), (2, 2), (256, 64), (128, 32, None, None), _max3())
        self.layer17 = Inception(640, (3, 5), (1, 1), (192, 64), (96, 32, 128, 256), _lp3())
        self.layer18 = Inception(640, (3, 5), (2, 2), (256, 128), (160, 64, None, None), _max3())
        self.layer19 = Inception(1024, (3,), (1,), (384,), (96, 96, 256), _lp3())
        self.layer21 = Inception(736, (3,), (1,), (384,), (96, 96, 256), _max3())
        self.layer22 = nn.AvgPool2d((3, 3), stride=(1, 1), padding=(0, 0))
        self.layer25 = nn.Linear(736, self.EMBEDDING_DIM)
        self.resize1 = nn.UpsamplingNearest2d(scale_factor=3)    # their 128x128 input path: x3 nearest, /4 average
        self.resize2 = nn.AvgPool2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == 128:
            x = self.resize2(self.resize1(x))
        for name in ("layer1", "layer2", "layer3", "layer4", "layer5", "layer6", "layer7", "layer8", "layer9",
                     "layer10", "layer11", "layer12", "layer13", "layer14", "layer15", "layer16", "layer17",
                     "layer18", "layer19", "layer21", "layer22"):
            x = getattr(self, name)(x)
        x = self.layer25(x.reshape(-1, 736))
        return x / torch.sqrt(torch.sum(x ** 2, 1) + 1e-6).reshape(-1, 1)
