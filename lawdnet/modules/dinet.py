"""The DINet generator (MRzzm/DINet ``models/DINet.py``): every block conv → BatchNorm → ReLU, AdaAT deformation."""
from __future__ import annotations

import torch
from torch import nn

from lawdnet.modules.adaat import AdaAT
from lawdnet.modules.blocks import ResBlock2d
from lawdnet.modules.lawdnet import alignment_encoder, audio_encoder, decoder, encoder


class DINet(nn.Module):
    """source (B, 3, H, W), references (B, 15, H, W), audio (B, 29, 5), images in [0, 1] → (B, 3, H, W).

    The authors' SynchronizedBatchNorm is plain batch norm in eval mode (``nn.BatchNorm*``, same state); the image
    and audio codes are globally averaged and concatenated into the 256-d AdaAT code.
    """

    def __init__(self, source_channel: int = 3, ref_channel: int = 15, audio_channel: int = 29):
        super().__init__()
        self.source_in_conv = encoder(source_channel, bn=True)
        self.ref_in_conv = encoder(ref_channel, bn=True)
        self.trans_conv = alignment_encoder(bn=True)
        self.audio_encoder = audio_encoder(audio_channel, bn=True)
        self.appearance_conv_list = nn.ModuleList(
            nn.Sequential(*(ResBlock2d(256, 256, 3, 1, bn=True) for _ in range(4))) for _ in range(2))
        self.adaAT = AdaAT(256, 256)
        self.out_conv = decoder(bn=True)
        self.global_avg2d = nn.AdaptiveAvgPool2d(1)
        self.global_avg1d = nn.AdaptiveAvgPool1d(1)

    def parameters_code(self, source_feature: torch.Tensor, ref_feature: torch.Tensor,
                        audio_feature: torch.Tensor) -> torch.Tensor:
        """``trans_para`` (B, 256): pooled alignment code (128) and pooled audio code (128)."""
        img_para = self.global_avg2d(self.trans_conv(torch.cat([source_feature, ref_feature], 1)))
        audio_para = self.global_avg1d(self.audio_encoder(audio_feature))
        return torch.cat([img_para.squeeze(3).squeeze(2), audio_para.squeeze(2)], 1)

    def forward(self, source_img: torch.Tensor, ref_img: torch.Tensor, audio_feature: torch.Tensor) -> torch.Tensor:
        source_feature = self.source_in_conv(source_img)
        ref_feature = self.ref_in_conv(ref_img)
        trans_para = self.parameters_code(source_feature, ref_feature, audio_feature)
        ref_trans = self.appearance_conv_list[0](ref_feature)
        ref_trans = self.adaAT(ref_trans, trans_para)
        ref_trans = self.appearance_conv_list[1](ref_trans)
        return self.out_conv(torch.cat([source_feature, ref_trans], 1))
