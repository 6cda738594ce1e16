"""The frozen ImageNet VGG19 of the perceptual losses (DaGAN's and LawDNet's authors use the same one).

    vgg = build_vgg19(weight_path("vgg19_imagenet"))       # or None: random weights (tests only)
    maps = vgg(images)                                     # 5 feature maps of images in [0, 1]

Both authors' ``Vgg19``: torchvision's VGG19 ``features`` (ImageNet weights ``vgg19-dcbb9e9d.pth``, the manifest's
``vgg19_imagenet``) cut after relu1_1, relu2_1, relu3_1, relu4_1 and relu5_1 (indices 0-1, 2-6, 7-11, 12-20,
21-29), inputs in [0, 1] normalised inside with the ImageNet mean and std as ``(x - mean) / std`` (float32
constants: a float16 input is promoted, as theirs). LawDNet's runs its forward under CUDA autocast (``amp=True``);
DaGAN's does not. ``normalise=False`` exists only to show that leaving the normalisation out changes the loss.
"""
from __future__ import annotations

import contextlib
import os

import torch
from torch import nn

#: (start, stop) indices of torchvision's ``vgg19().features`` in each slice
VGG_SLICES = ((0, 2), (2, 7), (7, 12), (12, 21), (21, 30))
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def cuda_autocast(x: torch.Tensor, enabled: bool = True):
    """``torch.autocast("cuda")`` when ``x`` is on CUDA and ``enabled`` (the authors' ``autocast()`` blocks; on the
    CPU their ``torch.cuda.amp.autocast`` does nothing, and neither does this)."""
    if enabled and x.is_cuda:
        return torch.autocast("cuda")
    return contextlib.nullcontext()


class Vgg19Features(nn.Module):
    """The five VGG19 relu feature maps of images in [0, 1] (ImageNet-normalised here). Frozen, always eval."""

    def __init__(self, features: nn.Sequential, normalise: bool = True, amp: bool = False):
        super().__init__()
        self.slices = nn.ModuleList(nn.Sequential(*(features[i] for i in range(a, b))) for a, b in VGG_SLICES)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.normalise, self.amp = normalise, amp
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> Vgg19Features:
        return super().train(False)            # a fixed feature extractor (no dropout / BN in these slices anyway)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        with cuda_autocast(x, self.amp):
            out = (x - self.mean) / self.std if self.normalise else x
            maps = []
            for block in self.slices:
                out = block(out)
                maps.append(out)
        return maps


def build_vgg19(weights_path: str | os.PathLike | None = None, amp: bool = False) -> Vgg19Features:
    """torchvision's VGG19 with the ImageNet weights file at ``weights_path`` loaded strictly (manifest entry
    ``vgg19_imagenet``: ``torchvision/vgg19-dcbb9e9d.pth``, what ``VGG19_Weights.DEFAULT`` / ``pretrained=True``
    download), cut into the perceptual slices, frozen, eval mode. ``None`` gives random weights (torchvision's
    initialisation, drawn from the global RNG): tests only."""
    import torchvision

    from talkingface.weights import load_state_dict_file, load_state_strict

    with torch.device("meta"):                 # no init of the 120M-parameter classifier to throw away
        net = torchvision.models.vgg19(weights=None)
    if weights_path is not None:
        state = load_state_dict_file(weights_path, "torchvision VGG19 state dict")
        load_state_strict(net, state, weights_path, "the VGG19 ImageNet weights", assign=True)
        return Vgg19Features(net.features, amp=amp)
    features = net.features.to_empty(device="cpu")
    for m in features.modules():
        if isinstance(m, nn.Conv2d):           # torchvision's VGG initialisation
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return Vgg19Features(features, amp=amp)
