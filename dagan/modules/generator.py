"""DaGAN depth-aware generator with its cross-modal (depth -> appearance) attention.

The forward pass is split in two so a still source image is encoded once for a whole video:

    enc = generator.encode_source(source_image, source_depth)     # appearance + depth features
    out = generator.decode(enc, kp_source, kp_driving)            # per driving frame (batched)

``forward`` keeps the authors' signature and returns the same dict (``prediction``, ``mask``, ``occlusion_map``,
``sparse_deformed``, ``deformed``).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from dagan.modules.blocks import DownBlock2d, ResBlock2d, SameBlock2d, UpBlock2d
from dagan.modules.dense_motion import DenseMotionNetwork


class DepthAwareAttention(nn.Module):
    """Cross-modal attention: queries from the source depth features, keys and values from the warped
    appearance features; the result is added back to the appearance features, weighted by ``gamma``."""

    def __init__(self, in_dim: int):
        super().__init__()
        self.query_conv = nn.Conv2d(in_dim, in_dim // 8, kernel_size=1)
        self.key_conv = nn.Conv2d(in_dim, in_dim // 8, kernel_size=1)
        self.value_conv = nn.Conv2d(in_dim, in_dim, kernel_size=1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def query(self, depth_features: torch.Tensor) -> torch.Tensor:
        """Queries (B, h*w, C/8) from depth features; depends on the source only."""
        q = F.relu(self.query_conv(depth_features))
        return q.flatten(2).transpose(1, 2)

    def attend(self, query: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        b, c, h, w = feat.shape
        key = F.relu(self.key_conv(feat)).flatten(2).transpose(1, 2)      # (B, N, C/8)
        value = F.relu(self.value_conv(feat)).flatten(2).transpose(1, 2)  # (B, N, C)
        query = query.expand(b, *query.shape[1:]) if query.shape[0] == 1 and b > 1 else query
        # softmax(q k^T) v without a 1/sqrt(d) scale, as the authors compute it (never materialised on GPU)
        out = F.scaled_dot_product_attention(query.to(value.dtype), key, value, scale=1.0)
        # (B, C, N) contiguous as the authors' bmm gives it: a transposed view would make every later layer run
        # channels-last (and copy each conv weight to that layout on every call)
        out = out.transpose(1, 2).contiguous().view(b, c, h, w)
        return self.gamma * out + feat

    def forward(self, source: torch.Tensor, feat: torch.Tensor) -> torch.Tensor:
        return self.attend(self.query(source), feat)


@dataclass
class SourceEncoding:
    """Everything the generator needs from the source image, computed once."""

    image: torch.Tensor          # (1|B, 3, H, W) the source image
    features: torch.Tensor       # appearance features after the down blocks
    depth_query: torch.Tensor    # attention queries from the source depth features
    motion_image: torch.Tensor   # the source downscaled for the dense motion network


def _broadcast(t: torch.Tensor, batch: int) -> torch.Tensor:
    return t.expand(batch, *t.shape[1:]) if t.shape[0] == 1 and batch > 1 else t


class DepthAwareGenerator(nn.Module):
    def __init__(self, num_channels: int, num_kp: int, block_expansion: int, max_features: int,
                 num_down_blocks: int, num_bottleneck_blocks: int, estimate_occlusion_map: bool = False,
                 dense_motion_params: dict | None = None, estimate_jacobian: bool = False):
        super().__init__()
        if dense_motion_params is None:
            raise ValueError("DepthAwareGenerator needs dense_motion_params (its attention works on warped features)")
        self.dense_motion_network = DenseMotionNetwork(num_kp=num_kp, num_channels=num_channels,
                                                       estimate_occlusion_map=estimate_occlusion_map,
                                                       **dense_motion_params)

        def features(level: int) -> int:
            return min(max_features, block_expansion * (2 ** level))

        self.first = SameBlock2d(num_channels, block_expansion, kernel_size=(7, 7), padding=(3, 3))
        self.down_blocks = nn.ModuleList(
            DownBlock2d(features(i), features(i + 1), kernel_size=(3, 3), padding=(1, 1))
            for i in range(num_down_blocks))
        self.src_first = SameBlock2d(1, block_expansion, kernel_size=(7, 7), padding=(3, 3))
        self.src_down_blocks = nn.ModuleList(
            DownBlock2d(features(i), features(i + 1), kernel_size=(3, 3), padding=(1, 1))
            for i in range(num_down_blocks))
        self.AttnModule = DepthAwareAttention(features(num_down_blocks))
        self.up_blocks = nn.ModuleList(
            UpBlock2d(features(num_down_blocks - i), features(num_down_blocks - i - 1), kernel_size=(3, 3),
                      padding=(1, 1))
            for i in range(num_down_blocks))
        self.bottleneck = nn.Sequential()
        for i in range(num_bottleneck_blocks):
            self.bottleneck.add_module(f"r{i}", ResBlock2d(features(num_down_blocks), kernel_size=(3, 3),
                                                           padding=(1, 1)))
        self.final = nn.Conv2d(block_expansion, num_channels, kernel_size=(7, 7), padding=(3, 3))
        self.estimate_occlusion_map = estimate_occlusion_map
        self.num_channels = num_channels

    @staticmethod
    def deform_input(inp: torch.Tensor, deformation: torch.Tensor) -> torch.Tensor:
        """Warp ``inp`` by a (B, h, w, 2) sampling grid, resized bilinearly to ``inp``'s size if needed."""
        h, w = inp.shape[2:]
        if deformation.shape[1:3] != (h, w):
            deformation = F.interpolate(deformation.permute(0, 3, 1, 2), size=(h, w), mode="bilinear")
            deformation = deformation.permute(0, 2, 3, 1)
        inp = _broadcast(inp, deformation.shape[0])
        return F.grid_sample(inp, deformation.to(inp.dtype), align_corners=False)

    def encode_source(self, source_image: torch.Tensor, source_depth: torch.Tensor) -> SourceEncoding:
        out = self.first(source_image)
        for block in self.down_blocks:
            out = block(out)
        depth = self.src_first(source_depth)
        for block in self.src_down_blocks:
            depth = block(depth)
        return SourceEncoding(image=source_image, features=out, depth_query=self.AttnModule.query(depth),
                              motion_image=self.dense_motion_network.prepare(source_image))

    def decode(self, source: SourceEncoding, kp_source, kp_driving, full_output: bool = True
               ) -> dict[str, torch.Tensor]:
        """Animate the encoded source to the driving keypoints (batch B of driving frames).

        ``full_output=False`` returns only ``prediction`` and skips the warped source image (inference).
        """
        motion = self.dense_motion_network.motion(source.motion_image, kp_driving=kp_driving, kp_source=kp_source)
        out_dict = {"mask": motion["mask"], "sparse_deformed": motion["sparse_deformed"]}
        deformation = motion["deformation"]
        out = self.deform_input(source.features, deformation)
        occlusion_map = motion.get("occlusion_map")
        if occlusion_map is not None:
            out_dict["occlusion_map"] = occlusion_map
            if out.shape[2:] != occlusion_map.shape[2:]:
                occlusion_map = F.interpolate(occlusion_map, size=out.shape[2:], mode="bilinear")
            out = out * occlusion_map
        out = self.AttnModule.attend(source.depth_query, out)
        if full_output:
            out_dict["deformed"] = self.deform_input(source.image, deformation)

        out = self.bottleneck(out)
        for block in self.up_blocks:
            out = block(out)
        prediction = torch.sigmoid(self.final(out))
        return {**out_dict, "prediction": prediction} if full_output else {"prediction": prediction}

    def forward(self, source_image, kp_driving, kp_source, source_depth, driving_depth=None):
        """The authors' call: ``driving_depth`` is accepted and unused, as in their DepthAwareGenerator."""
        return self.decode(self.encode_source(source_image, source_depth), kp_source, kp_driving)
