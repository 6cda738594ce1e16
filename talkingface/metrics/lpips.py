"""LPIPS v0.1 with the AlexNet trunk — the ``lpips`` package's own network, weights from the kit's files only.

``lpips.LPIPS(net="alex", version="0.1")`` would fetch torchvision's ImageNet AlexNet over the network. We build
it with ``pnet_rand=True, pretrained=False`` (no download, nothing read) and then load, strictly:

* the AlexNet ``features.*`` tensors from a torchvision-format state dict (manifest ``alexnet_imagenet``);
* the five linear layers ``lin0..lin4`` from lpips' ``weights/v0.1/alex.pth`` (manifest ``lpips_alex_linear``,
  which also finds the copy inside the installed lpips package).

Inputs: uint8 RGB → float32 ``x / 127.5 - 1`` (the [-1, 1] range lpips expects), batched; output one distance
per image pair (lower is more similar).
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from talkingface.errors import KitError, WeightsError
from talkingface.metrics.base import (
    MetricSpec,
    as_uint8_batch,
    check_pair,
)
from talkingface.metrics.protocols import SPECS
from talkingface.weights import load_state_dict_file, load_state_strict, require_weights

# torchvision AlexNet ``features`` indices used by lpips' five slices (conv layers; the ReLUs/pools have no weights)
_ALEX_CONVS = {0: "slice1", 3: "slice2", 6: "slice3", 8: "slice4", 10: "slice5"}


def build_lpips_alex(backbone_weights=None, linear_weights=None, device: str = "cpu") -> torch.nn.Module:
    """An eval-mode ``lpips.LPIPS`` (alex, v0.1) with weights from the given files (or the manifest's)."""
    files = require_weights({"backbone": ("alexnet_imagenet", backbone_weights),     # both checked at once
                             "linear": ("lpips_alex_linear", linear_weights)})    # checkpoints/ or the lpips package
    backbone_path, linear_path = files["backbone"], files["linear"]
    try:
        import lpips as lpips_pkg
    except ImportError as exc:
        raise KitError(f"lpips metric needs the lpips package (pip install lpips): {exc}") from exc
    with warnings.catch_warnings(), torch.device("meta"):     # meta: no random init of AlexNet's 61M parameters
        warnings.simplefilter("ignore", UserWarning)
        model = lpips_pkg.LPIPS(net="alex", version="0.1", pretrained=False, pnet_rand=True, verbose=False)
    model.scaling_layer = lpips_pkg.lpips.ScalingLayer()       # its constant buffers, made for real

    alex = load_state_dict_file(backbone_path)
    trunk = {}
    for idx, slice_name in _ALEX_CONVS.items():
        for kind in ("weight", "bias"):
            key = f"features.{idx}.{kind}"
            if key not in alex:
                raise WeightsError(f"{backbone_path}: no {key}; expected a torchvision AlexNet state dict")
            trunk[f"{slice_name}.{idx}.{kind}"] = alex[key]
    extra = sorted(k for k in alex if k.startswith("features.") and k not in
                   {f"features.{i}.{t}" for i in _ALEX_CONVS for t in ("weight", "bias")})
    if extra:
        raise WeightsError(f"{backbone_path}: unexpected AlexNet keys {extra[:4]}; not a torchvision AlexNet")
    load_state_strict(model.net, trunk, backbone_path, "the AlexNet features", assign=True)

    lin = load_state_dict_file(linear_path)
    expected = {f"lin{i}.model.1.weight" for i in range(5)}
    if set(lin) != expected:
        raise WeightsError(f"{linear_path}: expected keys lin0..lin4.model.1.weight, got {sorted(lin)[:6]}")
    for i in range(5):
        load_state_strict(model.lins[i], {"model.1.weight": lin[f"lin{i}.model.1.weight"]}, linear_path,
                          f"lin{i}", assign=True)
    if any(t.is_meta for t in list(model.parameters()) + list(model.buffers())):
        raise WeightsError(f"{backbone_path}: LPIPS network left with uninitialised tensors")
    return model.eval().to(device)


def to_lpips_input(batch: np.ndarray, device) -> torch.Tensor:
    """(N,H,W,3) uint8 → (N,3,H,W) float32 in [-1, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(batch)).to(device)
    return t.permute(0, 3, 1, 2).float() / 127.5 - 1


class LpipsMetric:
    """Registry object: ``m(generated, reference) -> (N,)`` LPIPS per frame pair."""

    def __init__(self, spec: MetricSpec, device: str = "cpu", backbone_weights=None, linear_weights=None,
                 batch_size: int = 32):
        self.spec = spec
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.model = build_lpips_alex(backbone_weights, linear_weights, device=self.device)

    def __call__(self, generated, reference=None) -> np.ndarray:
        if reference is None:
            raise KitError("lpips needs a reference batch (full-reference metric)")
        a = as_uint8_batch(generated, "lpips generated")
        b = as_uint8_batch(reference, "lpips reference")
        check_pair(a, b)
        out = []
        with torch.no_grad():
            for s in range(0, len(a), self.batch_size):
                x = to_lpips_input(a[s:s + self.batch_size], self.device)
                y = to_lpips_input(b[s:s + self.batch_size], self.device)
                out.append(self.model(x, y).reshape(-1).double().cpu().numpy())
        return np.concatenate(out)


def lpips(a, b, backbone_weights=None, linear_weights=None, device: str = "cpu") -> float:
    """LPIPS v0.1 AlexNet distance of two (H,W,3) uint8 RGB images (builds the network each call)."""
    metric = LpipsMetric(SPECS["lpips"], device=device, backbone_weights=backbone_weights,
                         linear_weights=linear_weights)
    return float(metric(np.asarray(a)[None], np.asarray(b)[None])[0])
