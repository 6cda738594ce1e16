"""DaGAN checkpoints in the authors' formats: strict loading with errors that say what was expected, and saving.

Formats (DESIGN §4):

* ``*.pth.tar``: ``{"generator": sd, "kp_detector": sd, "discriminator": sd, "optimizer_generator": …,
  "optimizer_discriminator": …, "optimizer_kp_detector": …, "epoch": int}``; files trained with DDP prefix every
  state-dict key with ``module.``. Both load.
* depth ``encoder.pth``: the ResNet encoder's state dict (``encoder.*``, the unused ``fc`` included) plus the
  non-tensor entries ``height``, ``width``, ``use_stereo``, which are ignored.
* depth ``depth.pth``: the decoder's state dict with positional keys ``decoder.0 .. decoder.13``.

Every key must match in name and shape (nothing is silently dropped); a mismatch raises
:class:`~talkingface.errors.WeightsError` naming the file and what it holds instead.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from talkingface.errors import WeightsError
from talkingface.weights import format_keys, load_state_strict, load_torch, save_torch, strip_ddp_prefix

DEPTH_ENCODER_EXTRAS = ("height", "width", "use_stereo")


def _section(ckpt: Mapping[str, Any], name: str, path) -> OrderedDict[str, Any]:
    if name not in ckpt:
        raise WeightsError(f"{path}: no '{name}' entry; a DaGAN checkpoint (.pth.tar) holds 'generator' and "
                           f"'kp_detector' (found: {format_keys(map(str, ckpt))})")
    state = ckpt[name]
    if not isinstance(state, Mapping):
        raise WeightsError(f"{path}: '{name}' is a {type(state).__name__}, expected a state dict")
    return strip_ddp_prefix(state)


def load_dagan_checkpoint(path: str | os.PathLike, generator: nn.Module, kp_detector: nn.Module,
                          discriminator: nn.Module | None = None) -> dict[str, Any]:
    """Load a DaGAN ``.pth.tar`` strictly into the given networks; returns the whole checkpoint dict."""
    ckpt = load_torch(path)
    if not isinstance(ckpt, Mapping):
        raise WeightsError(f"{path}: expected a dict with 'generator' and 'kp_detector', found a {type(ckpt).__name__}")
    gen_state = _section(ckpt, "generator", path)
    kp_state = _section(ckpt, "kp_detector", path)

    if any(k.startswith("decoder.") for k in gen_state):
        raise WeightsError(f"{path}: holds a SPADEDepthAwareGenerator (keys decoder.G_middle_* …); the kit builds "
                           f"DepthAwareGenerator, the generator of the published DaGAN_vox_adv_256.pth.tar")
    kp_weight = kp_state.get("kp.weight")
    num_kp = getattr(kp_detector, "num_kp", None)
    if isinstance(kp_weight, torch.Tensor) and num_kp is not None and kp_weight.shape[0] != num_kp:
        raise WeightsError(f"{path}: the keypoint detector has {kp_weight.shape[0]} keypoints (kp.weight "
                           f"{list(kp_weight.shape)}) but the model was built with kp_num={num_kp}; "
                           f"pass kp_num={kp_weight.shape[0]}")
    first = kp_state.get("predictor.encoder.down_blocks.0.conv.weight")
    want = kp_detector.state_dict().get("predictor.encoder.down_blocks.0.conv.weight")
    if isinstance(first, torch.Tensor) and want is not None and first.shape[1] != want.shape[1]:
        raise WeightsError(f"{path}: the keypoint detector takes {first.shape[1]} input channels, expected "
                           f"{want.shape[1]} (RGB-D); this is not a DaGAN RGB-D checkpoint")

    load_state_strict(generator, gen_state, path, "'generator'")
    load_state_strict(kp_detector, kp_state, path, "'kp_detector'")
    if discriminator is not None:
        load_state_strict(discriminator, _section(ckpt, "discriminator", path), path, "'discriminator'")
    return dict(ckpt)


def _encoder_depth(state: Mapping[str, Any]) -> int | None:
    """18 or 50 from a depth encoder state dict (50 has bottleneck blocks), None if it is neither."""
    if "encoder.layer1.0.conv3.weight" in state:
        return 50
    if "encoder.layer1.0.conv2.weight" in state:
        return 18
    return None


def load_depth_encoder(path: str | os.PathLike, encoder: nn.Module) -> None:
    """Load the authors' ``encoder.pth`` (ignoring ``height``/``width``/``use_stereo``) strictly."""
    state = load_torch(path)
    if not isinstance(state, Mapping):
        raise WeightsError(f"{path}: expected the depth encoder's state dict, found a {type(state).__name__}")
    state = strip_ddp_prefix({k: v for k, v in state.items() if k not in DEPTH_ENCODER_EXTRAS})
    if any(k.startswith("decoder.") for k in state):
        raise WeightsError(f"{path}: holds a depth decoder (decoder.* keys); expected the encoder (encoder.pth)")
    layers, want = _encoder_depth(state), getattr(encoder, "num_layers", None)
    if layers is not None and want is not None and layers != want:
        raise WeightsError(f"{path}: a ResNet-{layers} depth encoder, but the model expects ResNet-{want} "
                           f"(depth_params.num_layers={want}; the published weights_19 is ResNet-18)")
    load_state_strict(encoder, state, path, "the depth encoder")


def load_depth_decoder(path: str | os.PathLike, decoder: nn.Module) -> None:
    """Load the authors' ``depth.pth`` (keys ``decoder.0 .. decoder.13``) strictly."""
    state = load_torch(path)
    if not isinstance(state, Mapping):
        raise WeightsError(f"{path}: expected the depth decoder's state dict, found a {type(state).__name__}")
    state = strip_ddp_prefix(state)
    if any(k.startswith("encoder.") for k in state):
        raise WeightsError(f"{path}: holds a depth encoder (encoder.* keys); expected the decoder (depth.pth)")
    first = state.get("decoder.0.conv.conv.weight")
    want = decoder.state_dict()["decoder.0.conv.conv.weight"]
    if isinstance(first, torch.Tensor) and first.shape[1] != want.shape[1]:
        layers = {512: "ResNet-18", 2048: "ResNet-50"}.get(first.shape[1], f"{first.shape[1]}-channel")
        raise WeightsError(f"{path}: a depth decoder for a {layers} encoder ({first.shape[1]} input channels), "
                           f"the model expects {want.shape[1]} (depth_params.num_layers)")
    load_state_strict(decoder, state, path, "the depth decoder")


# ---------------------------------------------------------------------------------------------------- saving

def _cpu_state(module: nn.Module, prefix: str = "") -> OrderedDict[str, torch.Tensor]:
    return OrderedDict((prefix + k, v.detach().cpu().clone()) for k, v in module.state_dict().items())


def save_checkpoint(path: str | os.PathLike, generator: nn.Module, kp_detector: nn.Module,
                    discriminator: nn.Module | None = None, optimizers: Mapping[str, Any] | None = None,
                    epoch: int = 0, ddp_prefix: bool = False) -> Path:
    """Write a ``.pth.tar`` in the authors' format, atomically (readable by their ``load_cpk``/demo).

    ``optimizers`` maps names to optimizers or their state dicts; ``generator`` is stored as
    ``optimizer_generator`` (a name that already starts with ``optimizer_`` is kept). ``ddp_prefix`` writes the
    ``module.`` prefix that DDP-trained files carry.
    """
    prefix = "module." if ddp_prefix else ""
    ckpt: dict[str, Any] = {"generator": _cpu_state(generator, prefix), "kp_detector": _cpu_state(kp_detector, prefix)}
    if discriminator is not None:
        ckpt["discriminator"] = _cpu_state(discriminator, prefix)
    for name, opt in (optimizers or {}).items():
        key = name if name.startswith("optimizer_") else f"optimizer_{name}"
        ckpt[key] = opt.state_dict() if hasattr(opt, "state_dict") else opt
    ckpt["epoch"] = int(epoch)
    return save_torch(ckpt, path)


def save_depth_encoder(path: str | os.PathLike, encoder: nn.Module, height: int = 256, width: int = 256,
                       use_stereo: bool = False) -> Path:
    """Write ``encoder.pth`` as monodepth2 does: the state dict plus ``height``, ``width``, ``use_stereo``."""
    state: dict[str, Any] = dict(_cpu_state(encoder))
    state.update(height=int(height), width=int(width), use_stereo=bool(use_stereo))
    return save_torch(state, path)


def save_depth_decoder(path: str | os.PathLike, decoder: nn.Module) -> Path:
    """Write ``depth.pth``: the decoder's state dict (``decoder.0 .. decoder.13``)."""
    return save_torch(_cpu_state(decoder), path)
