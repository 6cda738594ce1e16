"""LawDNet's two-scale VGG19 perceptual loss: the authors' ``models/VGG19.py`` ``Vgg19`` and their training lines.

    vgg = build_vgg19(weight_path("vgg19_imagenet"))        # or None: random weights (tests only)
    loss = two_scale_perceptual(vgg, fake, real) * lamb_perception

As LawDNet_2024 @ 76a14bbf (``models/VGG19.py``; ``train_LawDNet_frame_distributed.py`` lines 264-294,
``train_LawDNet_clip_distributed.py`` lines 322-323 and 359-369):

* ``Vgg19``: torchvision's ``vgg19(weights=VGG19_Weights.DEFAULT)`` (= IMAGENET1K_V1, ``vgg19-dcbb9e9d.pth``)
  ``features`` cut after relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (indices 0-1, 2-6, 7-11, 12-20, 21-29); inputs
  in [0, 1] normalised with the ImageNet mean and std inside the network; the forward runs under CUDA autocast;
* the half scale: the output ``F.avg_pool2d(fake, 3, 2, 1, count_include_pad=False)``, the target
  ``F.interpolate(real, scale_factor=0.5, mode='bilinear')`` (align_corners False, no anti-alias): two different
  downsamplings, on purpose;
* the loss: ``sum over the 5 slices of L1(vgg_i(fake), vgg_i(real)) + L1(vgg_i(fake_half), vgg_i(real_half))``,
  divided by 10 (``len(slices) * 2``); the real image's features carry no gradient (the network is frozen and the
  real image is data).
"""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from talkingface.training.vgg19 import Vgg19Features, cuda_autocast
from talkingface.training.vgg19 import build_vgg19 as _build_vgg19

__all__ = ["Vgg19Features", "build_vgg19", "cuda_autocast", "half_scale", "two_scale_perceptual"]


def build_vgg19(weights_path: str | os.PathLike | None = None, amp: bool = True) -> Vgg19Features:
    """The shared VGG19 slices (:func:`talkingface.training.vgg19.build_vgg19`) with LawDNet's CUDA autocast on."""
    return _build_vgg19(weights_path, amp=amp)


def half_scale(fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(fake, real) at half resolution as the authors downsample them: 3x3 stride-2 average pooling (padding 1,
    padded pixels not counted) for the output, bilinear ``scale_factor=0.5`` for the target."""
    fake_half = F.avg_pool2d(fake, 3, 2, 1, count_include_pad=False)
    real_half = F.interpolate(real, scale_factor=0.5, mode="bilinear")
    return fake_half, real_half


def two_scale_perceptual(vgg: nn.Module, fake: torch.Tensor, real: torch.Tensor,
                         halves: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Mean over the 5 slices x 2 scales of ``L1(vgg_i(fake), vgg_i(real))`` (unweighted: times
    ``lamb_perception`` outside). ``halves``: :func:`half_scale` of (fake, real) when already computed (the authors
    compute it before their autocast block)."""
    fake_half, real_half = half_scale(fake, real) if halves is None else halves
    real_maps, fake_maps = vgg(real), vgg(fake)
    real_half_maps, fake_half_maps = vgg(real_half), vgg(fake_half)
    total = 0
    for i in range(len(real_maps)):
        total = total + F.l1_loss(fake_maps[i], real_maps[i])
        total = total + F.l1_loss(fake_half_maps[i], real_half_maps[i])
    return total / (len(real_maps) * 2)
