"""FidInception: pytorch-fid's Inception-v3 feature extractor, built without a download and loaded strictly.

pytorch-fid's FID-Inception is torchvision's Inception-v3 with pytorch_fid.inception's ``FIDInceptionA/C/E_1/E_2``
blocks, 1008 classes, no aux head; its weights are ``pt_inception-2015-12-05-6726825d.pth`` (manifest
``fid_inception``). Input: float32 RGB in [0,1] → bilinear resize to 299 (align_corners=False, no antialias) → 2x-1
→ blocks up to pool3 (2048-d; 64/192/768 for the earlier blocks, average-pooled).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from talkingface.errors import KitError, WeightsError
from talkingface.weights import load_state_dict_file, load_state_strict, resolve_weights

BLOCK_INDEX_BY_DIM = {64: 0, 192: 1, 768: 2, 2048: 3}


class FidInception(nn.Module):
    """pytorch-fid's InceptionV3 feature extractor (one output block), built without any download."""

    def __init__(self, dims: int = 2048):
        super().__init__()
        if dims not in BLOCK_INDEX_BY_DIM:
            raise KitError(f"fid: dims must be one of {sorted(BLOCK_INDEX_BY_DIM)}, got {dims}")
        import torchvision
        from pytorch_fid.inception import FIDInceptionA, FIDInceptionC, FIDInceptionE_1, FIDInceptionE_2

        net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
        net.Mixed_5b = FIDInceptionA(192, pool_features=32)
        net.Mixed_5c = FIDInceptionA(256, pool_features=64)
        net.Mixed_5d = FIDInceptionA(288, pool_features=64)
        net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        net.Mixed_7b = FIDInceptionE_1(1280)
        net.Mixed_7c = FIDInceptionE_2(2048)
        self.inception = net
        self.last_block = BLOCK_INDEX_BY_DIM[dims]

    def blocks(self) -> list[nn.Sequential]:
        n = self.inception
        pool = nn.MaxPool2d(kernel_size=3, stride=2)
        return [
            nn.Sequential(n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3, pool),
            nn.Sequential(n.Conv2d_3b_1x1, n.Conv2d_4a_3x3, pool),
            nn.Sequential(n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a, n.Mixed_6b, n.Mixed_6c, n.Mixed_6d,
                          n.Mixed_6e),
            nn.Sequential(n.Mixed_7a, n.Mixed_7b, n.Mixed_7c, nn.AdaptiveAvgPool2d(output_size=(1, 1))),
        ][: self.last_block + 1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B,3,H,W) float32 in [0,1] → (B, dims) features."""
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        for block in self.blocks():
            x = block(x)
        if x.shape[2] != 1 or x.shape[3] != 1:
            x = F.adaptive_avg_pool2d(x, output_size=(1, 1))
        return x.flatten(1)


def load_fid_inception(weights=None, dims: int = 2048, device: str = "cpu") -> FidInception:
    """FID-Inception with the state dict of ``weights`` (default: manifest ``fid_inception``), loaded strictly."""
    path = resolve_weights("fid_inception", weights)
    state = load_state_dict_file(path)
    with torch.device("meta"):          # no random init of 27M parameters: the file's tensors are taken over
        model = FidInception(dims)
    load_state_strict(model.inception, state, path, "the FID-Inception state dict", assign=True)
    if any(t.is_meta for t in list(model.parameters()) + list(model.buffers())):
        raise WeightsError(f"{path}: state dict left tensors of the FID-Inception uninitialised")
    return model.eval().to(device)
