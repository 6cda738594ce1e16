"""LawDNet / DINet / SyncNet checkpoints in the authors' formats: strict, safe loading with one-line errors, and saving.

Formats (tests/data/layouts/lawdnet_checkpoint_format.json):

* LawDNet clip stage ``checkpoint_epoch_N.pth`` (the published ``checkpoint_epoch_170.pth``): ``{'epoch': N+1,
  'state_dict': {'net_g', 'net_dI', 'net_dV'}, 'optimizer': {same nets}, 'scheduler': {same nets}}``;
* LawDNet frame stages and DINet ``netG_model_epoch_N.pth`` (and DINet's ``clip_training_DINet_256mouth.pth``):
  ``{'epoch': N+1, 'state_dict': {'net_g', 'net_dI'[, 'net_dV']}, 'optimizer': {...}}``;
* SyncNet ``syncnet_256mouth.pth``: ``{'state_dict': {'net': sd}}``, keys without prefix.

The nets were DDP/DataParallel-wrapped when saved, so every key carries ``module.`` (stripped when present). Only
``['state_dict']['net_g']`` is needed for inference; the file is read with ``torch.load(weights_only=True)`` (the
AdamW / LambdaLR states are plain containers and load safely).
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

MODELS = ("lawdnet", "dinet")
KINDS = ("checkpoint_epoch", "netG_model_epoch")
#: keys only one of the two generators has (after the prefix is stripped)
_SIGNS = {"lawdnet": ("lawLayer_list.", "cross_attention."), "dinet": ("adaAT.", "source_in_conv.0.norm.")}
_FORMATS = ("the authors' checkpoint_epoch_N.pth / netG_model_epoch_N.pth (a dict with ['state_dict']['net_g'])")


def build_generator(model: str = "lawdnet") -> nn.Module:
    """An untrained generator of the authors' layout: ``LawDNet(3, 15, 29, 2, 5, 60)`` or ``DINet(3, 15, 29)``."""
    from lawdnet.modules.dinet import DINet
    from lawdnet.modules.lawdnet import LawDNet

    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    return LawDNet() if model == "lawdnet" else DINet()


def _looks_like(state: Mapping[str, Any]) -> str | None:
    for name, signs in _SIGNS.items():
        if any(k.startswith(signs) for k in state):
            return name
    return None


def generator_state(ckpt: Any, path, model: str = "lawdnet") -> OrderedDict[str, Any]:
    """``ckpt['state_dict']['net_g']`` without the ``module.`` prefix, or a WeightsError saying what was expected."""
    if not isinstance(ckpt, Mapping):
        raise WeightsError(f"{path}: expected {_FORMATS}, found a {type(ckpt).__name__}")
    nets = ckpt.get("state_dict")
    if not isinstance(nets, Mapping):
        found = format_keys(map(str, ckpt)) or "nothing"
        if all(isinstance(v, torch.Tensor) for v in ckpt.values()) and ckpt:
            found = f"a bare state dict ({found})"
        raise WeightsError(f"{path}: no 'state_dict' entry; expected {_FORMATS} (found: {found})")
    if "net_g" not in nets:
        hint = " — this looks like a SyncNet file (syncnet_256mouth.pth); load it with load_syncnet" \
            if "net" in nets else ""
        raise WeightsError(f"{path}: ['state_dict'] has no 'net_g' (found: {format_keys(map(str, nets))}); "
                           f"expected {_FORMATS}{hint}")
    state = nets["net_g"]
    if not isinstance(state, Mapping):
        raise WeightsError(f"{path}: ['state_dict']['net_g'] is a {type(state).__name__}, expected a state dict")
    state = strip_ddp_prefix(state)
    other = _looks_like(state)
    if other is not None and other != model:
        names = {"lawdnet": "LawDNet", "dinet": "DINet"}
        raise WeightsError(f"{path}: this generator looks like {names[other]} (keys such as {_SIGNS[other][0]}*), "
                           f"not {names[model]}; pass --model {other}")
    return state


def load_generator(checkpoint: str | os.PathLike, device: str | torch.device = "cpu",
                   model: str = "lawdnet") -> nn.Module:
    """The authors' generator from their checkpoint (either format, with or without ``module.``), loaded strictly,
    in eval mode on ``device``. ``model``: ``lawdnet`` (LawDNet_2024) or ``dinet`` (MRzzm/DINet)."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    state = generator_state(load_torch(checkpoint), checkpoint, model)
    with torch.device("meta"):                 # no random init to compute and overwrite
        net = build_generator(model)
    load_state_strict(net, state, checkpoint, "['state_dict']['net_g']", assign=True)
    for p in net.parameters():
        p.requires_grad_(False)
    return net.to(device).eval()


def load_syncnet(path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """``syncnet_256mouth.pth`` (``['state_dict']['net']``) into ``SyncNet(15, 29, 128)``: strict, frozen, eval."""
    from lawdnet.modules.syncnet import SyncNet

    ckpt = load_torch(path)
    nets = ckpt.get("state_dict") if isinstance(ckpt, Mapping) else None
    if not isinstance(nets, Mapping) or not isinstance(nets.get("net"), Mapping):
        found = format_keys(map(str, nets if isinstance(nets, Mapping) else ckpt)) \
            if isinstance(ckpt, Mapping) else type(ckpt).__name__
        hint = "; this is a generator checkpoint (net_g)" if isinstance(nets, Mapping) and "net_g" in nets else ""
        raise WeightsError(f"{path}: expected the authors' SyncNet file (syncnet_256mouth.pth, a dict with "
                           f"['state_dict']['net']), found: {found}{hint}")
    with torch.device("meta"):
        net = SyncNet(15, 29, 128)
    load_state_strict(net, strip_ddp_prefix(nets["net"]), path, "['state_dict']['net']", assign=True)
    for p in net.parameters():
        p.requires_grad_(False)
    return net.to(device).eval()


# ---------------------------------------------------------------------------------------------------- saving

def _cpu_state(module: nn.Module, prefix: str = "") -> OrderedDict[str, torch.Tensor]:
    return OrderedDict((prefix + k, v.detach().cpu().clone()) for k, v in module.state_dict().items())


def _states(objs: Mapping[str, Any] | None, names: list[str]) -> dict[str, Any]:
    objs = objs or {}
    unknown = set(objs) - set(names)
    if unknown:
        raise ValueError(f"unknown net names {sorted(unknown)}; expected some of {names}")
    return {n: (objs[n].state_dict() if hasattr(objs[n], "state_dict") else objs[n]) for n in names if n in objs}


def save_checkpoint(path: str | os.PathLike, net_g: nn.Module, net_dI: nn.Module, net_dV: nn.Module | None = None,
                    *, epoch: int, optimizers: Mapping[str, Any] | None = None,
                    schedulers: Mapping[str, Any] | None = None, kind: str = "checkpoint_epoch") -> Path:
    """Write the authors' nesting atomically, every key with ``module.`` (as their DDP-wrapped nets save it).

    ``epoch`` is the epoch just finished (the N of ``checkpoint_epoch_N.pth``); the file stores N + 1 as theirs do.
    ``optimizers`` / ``schedulers`` map ``net_g`` / ``net_dI`` / ``net_dV`` to optimizers (or their state dicts).
    ``kind="checkpoint_epoch"`` (LawDNet clip stage) needs ``net_dV`` and writes ``scheduler``;
    ``"netG_model_epoch"`` (frame stages, DINet) writes no scheduler and ``net_dV`` only when given.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "checkpoint_epoch" and net_dV is None:
        raise ValueError("a checkpoint_epoch file holds net_g, net_dI and net_dV: net_dV is required")
    nets = {"net_g": net_g, "net_dI": net_dI}
    if net_dV is not None:
        nets["net_dV"] = net_dV
    ckpt: dict[str, Any] = {"epoch": int(epoch) + 1,
                            "state_dict": {n: _cpu_state(m, "module.") for n, m in nets.items()},
                            "optimizer": _states(optimizers, list(nets))}
    if kind == "checkpoint_epoch":
        ckpt["scheduler"] = _states(schedulers, list(nets))
    elif schedulers:
        raise ValueError("netG_model_epoch files hold no scheduler state")
    return save_torch(ckpt, path)


def save_syncnet(path: str | os.PathLike, net: nn.Module) -> Path:
    """Write ``syncnet_256mouth.pth``'s layout: ``{'state_dict': {'net': sd}}``, keys without prefix."""
    return save_torch({"state_dict": {"net": _cpu_state(net)}}, path)
