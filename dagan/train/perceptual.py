"""DaGAN's pyramid perceptual loss: frozen VGG19 feature slices on ImageNet-normalised images, and the image pyramid.

    vgg = build_vgg19(weight_path("vgg19_imagenet"))        # or None: random weights (tests only)
    pyramid = ImagePyramid([1, 0.5, 0.25, 0.125], num_channels=3)
    loss = perceptual_loss(vgg, pyramid(prediction), pyramid(driving), [1, 0.5, 0.25, 0.125], [10] * 5)

As the authors' ``Vgg19`` / ``ImagePyramide``: torchvision's VGG19 ``features`` cut after relu1_1, relu2_1,
relu3_1, relu4_1 and relu5_1 (indices 0-1, 2-6, 7-11, 12-20, 21-29), inputs in [0, 1] normalised with the ImageNet
mean and std; pyramid levels named ``prediction_<str(scale)>`` (the discriminator reads the same names), each the
anti-aliased downscale of :class:`dagan.modules.blocks.AntiAliasInterpolation2d`; the loss is
``sum over scales and layers of weight_i * mean|phi_i(pred) - phi_i(real).detach()|``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from dagan.modules.blocks import AntiAliasInterpolation2d

#: (start, stop) indices of torchvision's ``vgg19().features`` in each slice
VGG_SLICES = ((0, 2), (2, 7), (7, 12), (12, 21), (21, 30))
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Vgg19Features(nn.Module):
    """The five VGG19 feature maps of images in [0, 1] (normalised here with the ImageNet mean and std). Frozen."""

    def __init__(self, features: nn.Sequential, normalise: bool = True):
        super().__init__()
        self.slices = nn.ModuleList(nn.Sequential(*(features[i] for i in range(a, b))) for a, b in VGG_SLICES)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.normalise = normalise
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> Vgg19Features:
        return super().train(False)            # always eval: it is a fixed feature extractor

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype) if self.normalise else x
        maps = []
        for block in self.slices:
            out = block(out)
            maps.append(out)
        return maps


def build_vgg19(weights_path: str | os.PathLike | None = None) -> Vgg19Features:
    """torchvision's VGG19 with the ImageNet weights file at ``weights_path`` loaded strictly (manifest entry
    ``vgg19_imagenet``, ``torchvision/vgg19-dcbb9e9d.pth``), cut into the perceptual slices, frozen, eval mode.

    ``None`` gives random weights (torchvision's own initialisation, drawn from the global RNG): tests only.
    """
    import torchvision

    from talkingface.weights import load_state_dict_file, load_state_strict

    with torch.device("meta"):                 # no init to compute and throw away (the classifier is 120M params)
        net = torchvision.models.vgg19(weights=None)
    if weights_path is not None:
        state = load_state_dict_file(weights_path, "torchvision VGG19 state dict")
        load_state_strict(net, state, weights_path, "the VGG19 ImageNet weights", assign=True)
        return Vgg19Features(net.features)
    features = net.features.to_empty(device="cpu")
    for m in features.modules():
        if isinstance(m, nn.Conv2d):           # torchvision's VGG initialisation
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return Vgg19Features(features)


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
