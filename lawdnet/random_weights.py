"""Randomly initialised (seeded) LawDNet / DINet / SyncNet checkpoints in the authors' formats, for tests and demos.

    path = write_random_generator(tmp / "checkpoint_epoch_0.pth", model="lawdnet", seed=0)
    net_g = load_generator(path)

Their output means nothing: label anything made with them ``RANDOM_LABEL``. Weights are uniform with std
gain / sqrt(fan_in) (gains that keep the output away from flat grey and the warps moving), biases small, DINet's
BatchNorm statistics random; the same seed gives the same file and the caller's torch RNG is left untouched.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

RANDOM_LABEL = "RANDOM WEIGHTS — not the authors' model"
#: gains on weights whose std would otherwise give a flat output or still warps (keys without ``module.``)
GAINS = {"out_conv.4.weight": 6.0, "cross_attention.query_proj.weight": 3.0, "adaAT.scale.0.weight": 3.0,
         "adaAT.rotation.0.weight": 3.0, "adaAT.translation.0.weight": 3.0,
         **{f"lawLayer_list.{i}.{layer}.0.weight": 4.0 for i in range(2)
            for layer in ("kpoints_normalized_layer", "similarity_params_layer", "radius_layer")}}


def randomise_weights(module: nn.Module, seed: int = 0, gains: dict[str, float] | None = None) -> nn.Module:
    """Fill ``module`` in place (seeded) and return it in eval mode."""
    gains = GAINS if gains is None else gains
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for name, t in module.state_dict(keep_vars=True).items():
            if name.endswith("num_batches_tracked"):
                continue
            u = torch.rand(t.shape, generator=gen) * 2 - 1
            if name.endswith("running_mean"):
                value = 0.1 * 3 ** 0.5 * u
            elif name.endswith("running_var"):
                value = 1 + 0.5 * u
            elif name.startswith("cross_attention.positional_encoding"):
                value = 3 ** 0.5 * u
            elif t.ndim > 1:
                value = gains.get(name, 1.0) * (3 * t.shape[0] / t.numel()) ** 0.5 * u
            elif name.endswith("weight"):
                value = 1 + 0.1 * 3 ** 0.5 * u
            else:
                value = 0.1 * 3 ** 0.5 * u
            t.copy_(value)
    return module.eval()


def _build(model: str) -> dict[str, nn.Module]:
    from lawdnet.checkpoint import build_generator
    from lawdnet.modules.discriminator import Discriminator

    with torch.random.fork_rng(devices=[]):
        return {"net_g": build_generator(model), "net_dI": Discriminator(3), "net_dV": Discriminator(15)}


def write_random_generator(path: str | os.PathLike, model: str = "lawdnet", kind: str = "checkpoint_epoch",
                           seed: int = 0) -> Path:
    """A random ``model`` (lawdnet | dinet) generator with discriminators in the authors' ``kind`` format
    (checkpoint_epoch: net_g, net_dI, net_dV, optimizer, scheduler; netG_model_epoch: net_g, net_dI, optimizer)."""
    from lawdnet.checkpoint import save_checkpoint

    nets = _build(model)
    for i, net in enumerate(nets.values()):
        randomise_weights(net, int(seed) * 10 + i)
    net_dV = nets["net_dV"] if kind == "checkpoint_epoch" else None
    return save_checkpoint(path, nets["net_g"], nets["net_dI"], net_dV, epoch=0, kind=kind)


def write_random_syncnet(path: str | os.PathLike, seed: int = 0) -> Path:
    """A random ``SyncNet(15, 29, 128)`` in the ``syncnet_256mouth.pth`` layout."""
    from lawdnet.checkpoint import save_syncnet
    from lawdnet.modules.syncnet import SyncNet

    with torch.random.fork_rng(devices=[]):
        net = SyncNet(15, 29, 128)
    return save_syncnet(path, randomise_weights(net, int(seed)))
