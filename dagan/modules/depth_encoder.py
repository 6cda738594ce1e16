"""Depth network encoder (monodepth2 ResNet encoder, as DaGAN uses it).

A torchvision ResNet built without weights (never downloaded); the authors' ``encoder.pth`` fills it. Its state
dict is the ResNet's under ``encoder.`` — the classifier ``fc`` included, though unused — and the published file
adds the non-tensor entries ``height``, ``width`` and ``use_stereo``.
"""
from __future__ import annotations

import torch
import torchvision
from torch import nn

#: output channels of the five feature levels for each supported depth
ENCODER_CHANNELS = {18: (64, 64, 128, 256, 512), 50: (64, 256, 512, 1024, 2048)}


class DepthEncoder(nn.Module):
    """ResNet-18 or ResNet-50 feature pyramid of an RGB image in [0, 1]."""

    def __init__(self, num_layers: int = 18):
        super().__init__()
        if num_layers not in ENCODER_CHANNELS:
            raise ValueError(f"depth encoder: num_layers must be one of {sorted(ENCODER_CHANNELS)}, got {num_layers}")
        builder = {18: torchvision.models.resnet18, 50: torchvision.models.resnet50}[num_layers]
        self.encoder = builder(weights=None)
        self.num_layers = num_layers
        self.num_ch_enc = ENCODER_CHANNELS[num_layers]

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        r = self.encoder
        x = (image - 0.45) / 0.225
        first = r.relu(r.bn1(r.conv1(x)))
        features = [first, r.layer1(r.maxpool(first))]
        for layer in (r.layer2, r.layer3, r.layer4):
            features.append(layer(features[-1]))
        return features
