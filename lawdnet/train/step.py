"""One LawDNet training step (frame or clip stage), as the authors' training loops take it, for the training core.

    task = LawdnetTask(nets, cfg, losses, optimizers)          # built by lawdnet.train.run
    fit(task, dataset, settings)                               # talkingface.training

Per batch (``train_LawDNet_frame_distributed.py`` / ``train_LawDNet_clip_distributed.py``): the source's mouth is
masked (``SmoothSqMask``), the generator runs; net_dI's LSGAN step on the detached output, in the clip stage net_dV's
on the 15-channel stacks, then the generator's step on perceptual + GAN (+ GAN-V + sync) + image MSE, which sees the
discriminators after their update. AdamW for every net; LambdaLR ``1 - max(0, epoch - non_decay) / (decay + 1)``
stepped per epoch; one gradient scaler (the core's) updated once per step. Clip-stage batches are flattened
frame-major as theirs (``lawdnet.train.losses.frames_first``).

The checkpoint payload is the authors' file: frame stages ``netG_model_epoch_N.pth`` = ``{'epoch': N+1,
'state_dict': {'net_g', 'net_dI'}, 'optimizer': {...}}``, the clip stage ``checkpoint_epoch_N.pth`` with net_dV and
``'scheduler'``; keys with the ``module.`` prefix of their DDP runs. The frame stages' schedulers ride along under
``kit_scheduler`` (their files have none), the stage and mouth size under ``kit_stage``; they ignore both keys.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from lawdnet.mouth_mask import mask_mouth
from lawdnet.train.losses import frames_first, mouth_for_syncnet, stack_frames
from lawdnet.train.options import StageConfig
from talkingface.weights import load_state_strict, strip_ddp_prefix


@dataclass
class LawdnetNets:
    """The trained nets (possibly DDP-wrapped); ``net_dV`` only in the clip stage."""

    net_g: nn.Module
    net_dI: nn.Module
    net_dV: nn.Module | None = None

    def trained(self) -> dict[str, nn.Module]:
        return {k: v for k, v in (("net_g", self.net_g), ("net_dI", self.net_dI), ("net_dV", self.net_dV))
                if v is not None}


def bare(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def lambda_rule(non_decay: int, decay: int):
    """The authors' ``get_scheduler(..., 'lambda')`` factor of the epoch count."""
    return lambda epoch: 1.0 - max(0, epoch - non_decay) / float(decay + 1)


def make_optimizers(nets: LawdnetNets, cfg: StageConfig) -> dict[str, torch.optim.Optimizer]:
    """AdamW per net: lr_g for the generator, lr_dI for both discriminators (as theirs)."""
    return {name: torch.optim.AdamW(net.parameters(), lr=cfg.lr_g if name == "net_g" else cfg.lr_dI)
            for name, net in nets.trained().items()}


def _ddp_state(module: nn.Module) -> OrderedDict[str, torch.Tensor]:
    return OrderedDict(("module." + k, v.detach().cpu().clone()) for k, v in bare(module).state_dict().items())


class LawdnetTask:
    """The core's task for one stage: ``modules``, ``train_step``, ``state_dict``, ``load_state_dict``,
    ``end_epoch``, ``images``."""

    def __init__(self, nets: LawdnetNets, cfg: StageConfig, losses: Any, optimizers: dict[str, torch.optim.Optimizer]):
        self.nets, self.cfg, self.losses, self.optimizers = nets, cfg, losses, optimizers
        rule = lambda_rule(cfg.non_decay, cfg.decay)
        self.schedulers = {n: torch.optim.lr_scheduler.LambdaLR(o, lr_lambda=rule) for n, o in optimizers.items()}
        self.clip = cfg.stage == "clip"
        self._last: tuple[torch.Tensor, torch.Tensor] | None = None

    def modules(self) -> dict[str, nn.Module]:
        return self.nets.trained()

    def _inputs(self, batch: Mapping[str, Any], device) -> tuple[torch.Tensor, ...]:
        source, refs, audio = (batch[k].float().to(device) for k in ("source", "references", "audio"))
        if self.clip:        # (B, 5, ...) -> frame-major (5B, ...), as their torch.cat(torch.split(x, 1, 1), 0)
            source, refs, audio = frames_first(source), frames_first(refs), frames_first(audio)
        return source, refs, audio

    def train_step(self, batch: Mapping[str, Any], ctx) -> dict[str, torch.Tensor]:
        source, refs, audio = self._inputs(batch, ctx.device)
        with ctx.autocast():
            fake = self.nets.net_g(mask_mouth(source), refs, audio).float()
        discs = [self.optimizers["net_dI"]] + ([self.optimizers["net_dV"]] if self.clip else [])
        ctx.zero_grad(discs)                   # the generator's last backward left gradients in them
        d = self.losses.discriminator(fake, source)
        ctx.optimize(d["loss_dI"], [self.optimizers["net_dI"]])
        if self.clip:
            ctx.optimize(d["loss_dV"], [self.optimizers["net_dV"]])
        if self.clip:
            g = self.losses.generator(fake, source, batch["audio_full"].float().to(ctx.device))
        else:
            g = self.losses.generator(fake, source)
        ctx.optimize(sum(g.values()), [self.optimizers["net_g"]])
        self._last = (source.detach(), fake.detach())
        out = {**d, **g, "loss_g": sum(v.detach() for v in g.values())}
        if self.clip:      # the frozen SyncNet's mean score of the generated mouths (1 = in sync), not a loss term
            out["sync_score"] = self.losses.last_sync_score
        return {k: v.detach().float() for k, v in out.items()}

    def end_epoch(self, epoch: int) -> None:
        for scheduler in self.schedulers.values():
            scheduler.step()

    def state_dict(self, epoch: int) -> dict[str, Any]:
        nets = self.nets.trained()
        payload: dict[str, Any] = {
            "epoch": self.cfg.start_epoch + int(epoch) + 1,         # theirs: the epoch number (from 1) + 1
            "state_dict": {n: _ddp_state(m) for n, m in nets.items()},
            "optimizer": {n: o.state_dict() for n, o in self.optimizers.items()}}
        schedulers = {n: s.state_dict() for n, s in self.schedulers.items()}
        payload["scheduler" if self.clip else "kit_scheduler"] = schedulers
        payload["kit_stage"] = {"stage": self.cfg.stage, "mouth_region_size": self.cfg.mouth_region_size}
        return payload

    def load_state_dict(self, payload: Mapping[str, Any]) -> None:
        for name, net in self.nets.trained().items():
            load_state_strict(bare(net), strip_ddp_prefix(payload["state_dict"][name]), "checkpoint",
                              f"['state_dict']['{name}']")
        for name, opt in self.optimizers.items():
            opt.load_state_dict(payload["optimizer"][name])
        schedulers = payload.get("scheduler") or payload.get("kit_scheduler") or {}
        for name, scheduler in self.schedulers.items():
            if name in schedulers:
                scheduler.load_state_dict(schedulers[name])

    def images(self, batch: Any = None, out: Any = None) -> dict[str, torch.Tensor]:
        """``real_vs_generated``: real | generated for the first (up to 4) images. Clip stage, also ``mouths``: the
        first clip's 5 mouth crops as the SyncNet sees them (real above, generated below)."""
        if self._last is None:
            return {}
        real, fake = (t.float().cpu().clamp(0, 1) for t in self._last)
        grid = torch.cat([torch.cat(list(real[:4]), dim=1), torch.cat(list(fake[:4]), dim=1)], dim=2)
        out = {"real_vs_generated": grid}
        if self.clip:
            rows = [mouth_for_syncnet(stack_frames(t), self.cfg.mouth_region_size)[0].reshape(5, 3, 256, 256)
                    for t in (real, fake)]
            out["mouths"] = torch.cat([torch.cat(list(r), dim=2) for r in rows], dim=1)
        return out
