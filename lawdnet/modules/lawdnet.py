"""The LawDNet generator (cross-attention version): masked source + 5 references + DeepSpeech window → face crop.

Layout and forward of iPaw-AI-LAB/LawDNet_2024 ``models/LawDNet.py`` (the published ``checkpoint_epoch_170.pth``,
mouth 288 → 468×360 crops). Kept for strict loading although the forward never uses them: the BatchNorms of
``audio_encoder.{1,3}`` and the first warp layer (``appearance_conv_list.0``, ``lawLayer_list.0``). The authors'
loop runs every warp layer on the reference features and keeps only the last one's output; the discarded ones are
not computed here (the output is the same). On CUDA the forward runs under autocast (fp16) as theirs does; the
output is returned as float32.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lawdnet.modules.blocks import DownBlock1d, DownBlock2d, ResBlock1d, ResBlock2d, SameBlock1d, SameBlock2d, UpBlock2d
from lawdnet.modules.cross_attention import ImprovedCrossAttentionModel
from lawdnet.modules.local_affine_warp import LocalAffineWarp

#: the alignment encoder's map is brought to this size before the cross attention (468×360 crops give it exactly)
PARA_SIZE = (8, 6)


def encoder(in_channels: int, bn: bool) -> nn.Sequential:
    """Image encoder: Same(→64, k7) → Down(→128) → Down(→256), 1/4 resolution."""
    return nn.Sequential(SameBlock2d(in_channels, 64, kernel_size=7, padding=3, bn=bn),
                         DownBlock2d(64, 128, kernel_size=3, padding=1, bn=bn),
                         DownBlock2d(128, 256, kernel_size=3, padding=1, bn=bn))


def alignment_encoder(bn: bool) -> nn.Sequential:
    """``trans_conv`` on the concatenated source and reference features (512 ch), 4 stride-2 steps."""
    def same(k):
        return SameBlock2d(128, 128, kernel_size=k, padding=k // 2, bn=bn)

    def down():
        return DownBlock2d(128, 128, kernel_size=3, padding=1, bn=bn)

    return nn.Sequential(SameBlock2d(512, 128, kernel_size=3, padding=1, bn=bn), same(11), same(11), down(),
                         same(7), same(7), down(), same(3), down(), same(3), down())


def audio_encoder(in_channels: int, bn: bool) -> nn.Sequential:
    """(B, 29, 5) → (B, 128, 2): Same(k5) → Res → Down → Res → Down → Same(k3)."""
    return nn.Sequential(SameBlock1d(in_channels, 128, kernel_size=5, padding=2, bn=bn),
                         ResBlock1d(128, 128, 3, 1, bn=bn, unused_bn=True),
                         DownBlock1d(128, 128, 3, 1, bn=bn),
                         ResBlock1d(128, 128, 3, 1, bn=bn, unused_bn=True),
                         DownBlock1d(128, 128, 3, 1, bn=bn),
                         SameBlock1d(128, 128, kernel_size=3, padding=1, bn=bn))


def decoder(bn: bool) -> nn.Sequential:
    """``out_conv``: Same(512→128) → Up → Res → Up → Conv 7×7 → 3 → Sigmoid."""
    return nn.Sequential(SameBlock2d(512, 128, kernel_size=3, padding=1, bn=bn),
                         UpBlock2d(128, 128, kernel_size=3, padding=1, bn=bn),
                         ResBlock2d(128, 128, 3, 1, bn=bn),
                         UpBlock2d(128, 128, kernel_size=3, padding=1, bn=bn),
                         nn.Conv2d(128, 3, kernel_size=(7, 7), padding=(3, 3)),
                         nn.Sigmoid())


class LawDNet(nn.Module):
    """source (B, 3, H, W), references (B, 15, H, W), audio (B, 29, 5), images in [0, 1] → (B, 3, H, W)."""

    def __init__(self, source_channel: int = 3, ref_channel: int = 15, audio_channel: int = 29,
                 warp_layer_num: int = 2, num_kpoints: int = 5, standard_grid_size: int = 60,
                 resize_antialias: bool = True):
        super().__init__()
        self.warp_layer_num, self.num_kpoints, self.sgs = warp_layer_num, num_kpoints, standard_grid_size
        self.source_in_conv = encoder(source_channel, bn=False)
        self.ref_in_conv = encoder(ref_channel, bn=False)
        self.trans_conv = alignment_encoder(bn=False)
        self.audio_encoder = audio_encoder(audio_channel, bn=False)
        self.appearance_conv_list = nn.ModuleList(
            nn.Sequential(ResBlock2d(256, 256, 3, 1, bn=False), ResBlock2d(256, 256, 3, 1, bn=False))
            for _ in range(warp_layer_num))
        self.lawLayer_list = nn.ModuleList(
            LocalAffineWarp(para_ch=256, num_kpoints=num_kpoints, feature_ch=256,
                            standard_grid_size=(standard_grid_size, standard_grid_size),
                            resize_antialias=resize_antialias)
            for _ in range(warp_layer_num))
        self.out_conv = decoder(bn=False)
        self.cross_attention = ImprovedCrossAttentionModel()

    def parameters_code(self, source_feature: torch.Tensor, ref_feature: torch.Tensor,
                        audio_feature: torch.Tensor) -> torch.Tensor:
        """``trans_para`` (B, 256): the alignment map (resized to 8×6, bilinear, align_corners) attended by audio."""
        img_para = self.trans_conv(torch.cat([source_feature, ref_feature], 1))
        audio_para = self.audio_encoder(audio_feature)
        if tuple(img_para.shape[2:]) != PARA_SIZE:
            img_para = F.interpolate(img_para, size=PARA_SIZE, mode="bilinear", align_corners=True)
        return self.cross_attention(img_para, audio_para)

    def _forward(self, source_img, ref_img, audio_feature):
        source_feature = self.source_in_conv(source_img)
        ref_feature = self.ref_in_conv(ref_img)
        trans_para = self.parameters_code(source_feature, ref_feature, audio_feature)
        last = self.warp_layer_num - 1          # the authors' loop keeps only the last layer's output
        warped = self.lawLayer_list[last](self.appearance_conv_list[last](ref_feature), trans_para)
        return self.out_conv(torch.cat([source_feature, warped], 1))

    def forward(self, source_img: torch.Tensor, ref_img: torch.Tensor, audio_feature: torch.Tensor) -> torch.Tensor:
        if source_img.is_cuda:
            with torch.autocast("cuda"):
                out = self._forward(source_img, ref_img, audio_feature)
        else:
            out = self._forward(source_img, ref_img, audio_feature)
        return out.float()
