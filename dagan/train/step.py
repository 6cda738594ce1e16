"""One DaGAN training step, as the authors' ``train.py`` takes it, behind the training core's task interface.

    task = DaganTask(nets, cfg, options, ctx_device)      # nets: DaganNets (built by dagan.train.build)
    fit(task, dataset, settings)                           # talkingface.training

Per batch (the authors' order): generator losses (perceptual pyramid, LSGAN, feature matching, equivariance
value/jacobian, keypoint distance, the optional terms) → one backward → Adam steps of the generator and the
keypoint detector; then, when ``generator_gan`` is not 0, the discriminator's LSGAN loss on the detached
prediction → its own Adam step. Schedulers are MultiStepLR(epoch_milestones, 0.1), stepped once per epoch.

The checkpoint payload is the authors' ``.pth.tar`` (``generator``, ``kp_detector``, ``discriminator``, the three
``optimizer_*``, ``epoch``; keys with the ``module.`` prefix their DDP runs write), so their ``demo.py`` and
``Logger.load_cpk`` read our files; the schedulers ride along under ``scheduler_*`` keys, which they ignore.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from dagan.config import DaganConfig
from talkingface.weights import strip_ddp_prefix

NETS = ("generator", "kp_detector", "discriminator")


@dataclass
class DaganNets:
    """The networks of a training run: the three trained ones (possibly DDP-wrapped) and the frozen ones."""

    generator: nn.Module
    kp_detector: nn.Module
    discriminator: nn.Module
    depth_encoder: nn.Module
    depth_decoder: nn.Module
    vgg: nn.Module | None

    def trained(self) -> dict[str, nn.Module]:
        return {name: getattr(self, name) for name in NETS}


def bare(module: nn.Module) -> nn.Module:
    """The network inside a DDP wrapper (the module itself when not wrapped)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def _ddp_state(module: nn.Module) -> OrderedDict[str, torch.Tensor]:
    """The state dict as the authors' DDP runs save it: every key prefixed ``module.``, tensors on the CPU."""
    return OrderedDict(("module." + k, v.detach().cpu().clone()) for k, v in bare(module).state_dict().items())


def make_optimizers(nets: DaganNets, cfg: DaganConfig, lr_scale: float = 1.0) -> dict[str, torch.optim.Optimizer]:
    """Adam(lr, betas (0.5, 0.999)) per trained network, as ``train.py`` (``lr_scale`` multiplies every lr)."""
    t = cfg.train_params
    lrs = {"generator": t.lr_generator, "discriminator": t.lr_discriminator, "kp_detector": t.lr_kp_detector}
    return {name: torch.optim.Adam(getattr(nets, name).parameters(), lr=lrs[name] * lr_scale, betas=(0.5, 0.999))
            for name in NETS}


class DaganTask:
    """The DaGAN training task of :func:`talkingface.training.fit` (``modules``, ``train_step``, ``state_dict``,
    ``load_state_dict``, ``end_epoch``, ``evaluate``, ``images``)."""

    def __init__(self, nets: DaganNets, cfg: DaganConfig, generator_loss: nn.Module,
                 discriminator_loss: nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                 eval_loader: Any = None):
        self.nets, self.cfg = nets, cfg
        self.generator_loss, self.discriminator_loss = generator_loss, discriminator_loss
        self.optimizers = optimizers
        milestones = list(cfg.train_params.epoch_milestones)
        self.schedulers = {name: torch.optim.lr_scheduler.MultiStepLR(opt, milestones, gamma=0.1)
                           for name, opt in optimizers.items()}
        self.eval_loader = eval_loader
        self.use_gan = cfg.train_params.loss_weights["generator_gan"] != 0

    # -- the core's interface --------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return self.nets.trained()

    def train_step(self, batch: Mapping[str, Any], ctx) -> dict[str, torch.Tensor]:
        source, driving = batch["source"].to(ctx.device), batch["driving"].to(ctx.device)
        with ctx.autocast():
            losses, generated = self.generator_loss(source, driving)
        ctx.optimize(sum(v.float().mean() for v in losses.values()),
                     [self.optimizers["generator"], self.optimizers["kp_detector"]])
        if self.use_gan:
            self.optimizers["discriminator"].zero_grad(set_to_none=True)
            with ctx.autocast():
                disc = self.discriminator_loss(driving, generated)
            ctx.optimize(sum(v.float().mean() for v in disc.values()), [self.optimizers["discriminator"]])
            losses.update(disc)
        self._last = ({k: batch[k][:4].detach() for k in ("source", "driving")},
                      {"prediction": generated["prediction"][:4].detach(),
                       "depth_driving": generated["depth_driving"][:4].detach(),
                       "kp_source": {"value": generated["kp_source"]["value"][:4].detach()},
                       "kp_driving": {"value": generated["kp_driving"]["value"][:4].detach()}})
        return {k: v.detach().float().mean() for k, v in losses.items()}

    def end_epoch(self, epoch: int) -> None:
        for scheduler in self.schedulers.values():
            scheduler.step()

    def state_dict(self, epoch: int) -> dict[str, Any]:
        payload: dict[str, Any] = {name: _ddp_state(getattr(self.nets, name)) for name in NETS}
        payload.update({f"optimizer_{name}": opt.state_dict() for name, opt in self.optimizers.items()})
        payload.update({f"scheduler_{name}": s.state_dict() for name, s in self.schedulers.items()})
        payload["epoch"] = int(epoch)
        return payload

    def load_state_dict(self, payload: Mapping[str, Any]) -> None:
        from talkingface.weights import load_state_strict

        for name in NETS:
            load_state_strict(bare(getattr(self.nets, name)), strip_ddp_prefix(payload[name]), "checkpoint",
                              f"'{name}'")
        for name, opt in self.optimizers.items():
            opt.load_state_dict(payload[f"optimizer_{name}"])
        for name, scheduler in self.schedulers.items():
            if f"scheduler_{name}" in payload:
                scheduler.load_state_dict(payload[f"scheduler_{name}"])

    def evaluate(self, ctx) -> dict[str, float] | None:
        """The epoch's loss-only evaluation on the held-out pairs (the authors' ``epoch_eval_loss``): the generator
        losses with the networks in eval mode, no step; the mean of each term and of their sum."""
        if self.eval_loader is None:
            return None
        totals: dict[str, float] = {}
        count = 0
        for batch in self.eval_loader:
            source, driving = batch["source"].to(ctx.device), batch["driving"].to(ctx.device)
            with ctx.autocast():          # the jacobian term differentiates the warp: autograd stays on
                losses, _ = self.generator_loss(source, driving)
            values = {k: float(v.detach().float().mean()) for k, v in losses.items()}
            values["total"] = sum(values.values())
            for k, v in values.items():
                totals[k] = totals.get(k, 0.0) + v
            count += 1
        return {k: v / count for k, v in totals.items()} if count else None

    def images(self, batch: Mapping[str, Any] | None = None, out: Any = None) -> dict[str, torch.Tensor]:
        """source | driving | prediction | driving depth | keypoints on the driving frame, for the first items."""
        from dagan.train.visual import training_grid

        last = getattr(self, "_last", None)
        if last is None:
            return {}
        batch, generated = last
        return {"train": training_grid(batch["source"], batch["driving"], generated)}
