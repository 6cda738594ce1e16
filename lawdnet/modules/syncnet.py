"""The 256-mouth SyncNet(15, 29, 128) that DINet/LawDNet training uses, frozen, as the lip-sync loss."""
from __future__ import annotations

import torch
from torch import nn


class _Block(nn.Module):
    """conv → ReLU [→ AvgPool 2 when ``pool``]: SyncNet's Same/Down blocks (no BatchNorm, stride 1)."""

    dims = 2

    def __init__(self, in_features: int, out_features: int, kernel_size=3, padding=1, pool: bool = False):
        super().__init__()
        conv = nn.Conv1d if self.dims == 1 else nn.Conv2d
        stride = 2 if self.dims == 1 and pool else 1
        self.conv = conv(in_features, out_features, kernel_size=kernel_size, padding=padding, stride=stride)
        if pool and self.dims == 2:
            self.pool = nn.AvgPool2d(kernel_size=(2, 2))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.conv(x))
        return self.pool(out) if hasattr(self, "pool") else out


class _Block1d(_Block):
    dims = 1


class _ResBlock(nn.Module):
    """ReLU → conv1 → ReLU → conv2, plus the input."""

    def __init__(self, features: int, dims: int = 2):
        super().__init__()
        conv = nn.Conv1d if dims == 1 else nn.Conv2d
        self.conv1 = conv(features, features, kernel_size=3, padding=1)
        self.conv2 = conv(features, features, kernel_size=3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.relu(self.conv1(self.relu(x))))
        out += x
        return out


class FaceEncoder(nn.Module):
    """5 stacked RGB mouth crops (B, 15, 256, 256) → (B, out_dim, 8, 8)."""

    def __init__(self, in_channel: int, out_dim: int):
        super().__init__()
        layers = [_Block(in_channel, 64, kernel_size=7, padding=3), _ResBlock(64), _Block(64, 64, pool=True),
                  _Block(64, 128)]
        for _ in range(3):
            layers += [_ResBlock(128), _Block(128, 128, pool=True), _Block(128, 128)]
        layers += [_ResBlock(128), _Block(128, 128, pool=True), _Block(128, out_dim, kernel_size=1, padding=0)]
        self.face_conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.face_conv(x)


class AudioEncoder(nn.Module):
    """DeepSpeech window (B, 29, 9) → (B, out_dim): 9 → 5 → 3 → 2 steps, then the mean."""

    def __init__(self, in_channel: int, out_dim: int):
        super().__init__()
        self.audio_conv = nn.Sequential(
            _Block1d(in_channel, 128, kernel_size=7, padding=3), _ResBlock(128, 1),
            _Block1d(128, 128, pool=True), _ResBlock(128, 1),
            _Block1d(128, 128, pool=True), _ResBlock(128, 1),
            _Block1d(128, 128, pool=True), _Block1d(128, out_dim, kernel_size=3, padding=1))
        self.global_avg = nn.AdaptiveAvgPool1d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.global_avg(self.audio_conv(x)).squeeze(2)


class SyncNet(nn.Module):
    """Score map (B, 1, 8, 8) of (mouth crops (B, 15, 256, 256), DeepSpeech (B, 29, 9)); the training loss is
    MSE(score, 1). Keys as the authors' ``syncnet_256mouth.pth`` ``['state_dict']['net']``."""

    def __init__(self, in_channel_image: int = 15, in_channel_audio: int = 29, out_dim: int = 128):
        super().__init__()
        self.in_channel_image, self.in_channel_audio, self.out_dim = in_channel_image, in_channel_audio, out_dim
        self.face_encoder = FaceEncoder(in_channel_image, out_dim)
        self.audio_encoder = AudioEncoder(in_channel_audio, out_dim)
        self.merge_encoder = nn.Sequential(nn.Conv2d(out_dim * 2, out_dim, kernel_size=3, padding=1),
                                           nn.LeakyReLU(0.2),
                                           nn.Conv2d(out_dim, 1, kernel_size=3, padding=1))

    def forward(self, image: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        image_embedding = self.face_encoder(image)
        h, w = image_embedding.shape[2:]
        audio_embedding = self.audio_encoder(audio).unsqueeze(2).unsqueeze(3).repeat(1, 1, h, w)
        return self.merge_encoder(torch.cat([image_embedding, audio_embedding], 1))
