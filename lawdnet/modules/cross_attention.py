"""LawDNet's audio-to-video cross attention (``ImprovedCrossAttentionModel``): (B,128,8,6) + (B,128,2) → (B,256)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FlattenAndLinear(nn.Module):
    """Conv1d(128→64, k3) → ReLU → MaxPool1d(2) → flatten (64·128) → Linear(8192→256) → ReLU."""

    def __init__(self, in_channels: int = 128):
        super().__init__()
        self.conv1 = nn.Conv1d(in_channels=in_channels, out_channels=64, kernel_size=3, stride=1, padding=1)
        self.pool = nn.MaxPool1d(kernel_size=2, stride=2)
        self.fc = nn.Linear(64 * 128, 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(F.relu(self.conv1(x)))
        return F.relu(self.fc(x.view(x.size(0), -1)))


class ImprovedCrossAttentionModel(nn.Module):
    """Queries from the 128 audio channels (2 steps → 256), keys and values from the 128 video channels (8×6 → 256),
    each with a learned positional encoding; softmax(Q Kᵀ / 16) V → Linear(256) → :class:`FlattenAndLinear`."""

    def __init__(self):
        super().__init__()
        self.positional_encoding_video = nn.Parameter(torch.randn((128, 8, 6), dtype=torch.float32))
        self.positional_encoding_audio = nn.Parameter(torch.randn((128, 2), dtype=torch.float32))
        self.query_proj = nn.Linear(2, 256)
        self.key_proj = nn.Linear(8 * 6, 256)
        self.value_proj = nn.Linear(8 * 6, 256)
        self.final_linear = nn.Linear(256, 256)
        self.output_reshape = FlattenAndLinear(128)

    def attention(self, video_features: torch.Tensor, audio_features: torch.Tensor):
        """(attention weights (B, 128, 128), values (B, 128, 256)): exposed for tests and sanity checks."""
        video = video_features.view(-1, 128, 8, 6)
        video = video + self.positional_encoding_video.expand(video.size(0), -1, -1, -1)
        video = video.view(-1, 128, 8 * 6)
        audio = audio_features.view(-1, 128, 2)
        audio = audio + self.positional_encoding_audio.expand(audio.size(0), -1, -1)
        query = self.query_proj(audio)
        key = self.key_proj(video)
        value = self.value_proj(video)
        scores = torch.bmm(query, key.transpose(1, 2)) / (256 ** 0.5)
        return F.softmax(scores, dim=-1), value

    def forward(self, video_features: torch.Tensor, audio_features: torch.Tensor) -> torch.Tensor:
        attention, value = self.attention(video_features, audio_features)
        attended = self.final_linear(torch.bmm(attention, value))
        return self.output_reshape(attended)
