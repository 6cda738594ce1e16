"""DaGAN's pyramid perceptual loss: frozen VGG19 feature slices on ImageNet-normalised images, and the image pyramid.

    vgg = build_vgg19(weight_path("vgg19_imagenet"))        # or None: random weights (tests only)
    pyramid = ImagePyramid([1, 0.5, 0.25, 0.125], num_channels=3)
    loss = perceptual_loss(vgg, pyramid(prediction), pyramid(driving), [1, 0.5, 0.25, 0.125], [10] * 5)

As the authors' ``Vgg19`` / ``ImagePyramide``: the VGG19 feature slices of :mod:`talkingface.training.vgg19`
(shared with LawDNet's loss; relu1_1 ... relu5_1, inputs in [0, 1] normalised with the ImageNet mean and std); pyramid
levels named ``prediction_<str(scale)>`` (the discriminator reads the same names), each the
anti-aliased downscale of :class:`dagan.modules.blocks.AntiAliasInterpolation2d`; the loss is
``sum over scales and layers of weight_i * mean|phi_i(pred) - phi_i(real).detach()|``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from dagan.modules.blocks import AntiAliasInterpolation2d
from talkingface.training.vgg19 import Vgg19Features, build_vgg19

__all__ = ["ImagePyramid", "Vgg19Features", "build_vgg19", "level_name", "perceptual_loss"]

def level_name(scale: float) -> str:
    """The pyramid key of ``scale`` as the authors spell it (``str(scale)``: 1 -> ``prediction_1``)."""
    return f"prediction_{scale}"


class ImagePyramid(nn.Module):
    """``{"prediction_<scale>": image downscaled by scale}`` for every scale (anti-aliased; scale 1 unchanged)."""

    def __init__(self, scales: Sequence[float], num_channels: int):
        super().__init__()
        self.scales = list(scales)
        self.downs = nn.ModuleList(AntiAliasInterpolation2d(num_channels, s) for s in self.scales)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {level_name(s): down(x) for s, down in zip(self.scales, self.downs, strict=True)}


def perceptual_loss(vgg: Vgg19Features, generated: Mapping[str, torch.Tensor], real: Mapping[str, torch.Tensor],
                    scales: Sequence[float], weights: Sequence[float]) -> torch.Tensor:
    """Sum over ``scales`` and the five VGG layers of ``weights[i] * mean|vgg_i(generated) - vgg_i(real)|``; the
    real image's features are detached. ``generated`` / ``real`` are :class:`ImagePyramid` outputs."""
    first = next(iter(generated.values()))
    total = torch.zeros((), dtype=first.dtype, device=first.device)
    for scale in scales:
        fake_maps, real_maps = vgg(generated[level_name(scale)]), vgg(real[level_name(scale)])
        for weight, a, b in zip(weights, fake_maps, real_maps, strict=False):
            total = total + weight * torch.abs(a - b.detach()).mean()
    return total
