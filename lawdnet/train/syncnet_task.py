"""Training LawDNet's 256-mouth SyncNet (the clip stage's frozen sync loss) behind the training core's task interface.

    task = SyncNetTask(wrap_ddp(SyncNet(15, 29, 128), dist), lr=1e-4, eval_loader=held_out_loader)
    fit(task, SyncPairs(json_path), settings)             # talkingface.training

The authors never released this training (DINet issues #10, #28, #39, #55, #105); what is fixed is how the clip stage
uses the net: ``loss_sync = MSE(SyncNet(mouths, deep_speech_full), 1)`` over the raw (B, 1, 8, 8) score map. The
map's last layer is a plain 3x3 convolution (no sigmoid, no ReLU), so the score is unbounded. Hence the loss here:

* **MSE of every map cell to the pair's label** (1 in sync, 0 shifted), ``MSE(score, label)`` over the B x 8 x 8
  cells. A trained net then scores in-sync windows near 1 and off-sync near 0, and the generator's
  ``MSE(score, 1)`` reads as "distance from in sync" on the scale it was written for (about 0 for a synced mouth,
  about 1 for an off-sync one). BCE on a sigmoid was rejected: it would drive the raw map to large logits (say +8 in
  sync), and ``MSE(8, 1) = 49`` would then push the generator *away* from confident sync. The community's reported
  plateau of the authors' SyncNet loss at ~0.24–0.25 is what an MSE-to-{0, 1} net that has learnt nothing reads
  (a constant 0.5), consistent with this choice.
* **AdamW(lr 1e-4)** (weight decay 0.01, torch's default; no schedule): the optimiser and learning rate of every
  other LawDNet net (``config/config.py`` lr_g = lr_dI = 1e-4, AdamW).

``evaluate`` (every epoch checkpoint, every process, the bare net, no collectives): over the held-out pairs, the MSE
loss, the sync accuracy (the mean of the 8x8 map > 0.5 ⇔ in sync), the accuracy on each class, and the mean score of
in-sync and of off-sync pairs. The checkpoint is the authors' SyncNet file, ``{'state_dict': {'net': sd}}`` (keys
without prefix, what :func:`lawdnet.checkpoint.load_syncnet` reads strictly), plus ``optimizer`` and ``epoch`` for a
resume (and the core's ``kit_resume``), which the loader ignores.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

#: AdamW learning rate (the authors' lr_g / lr_dI)
DEFAULT_LR = 1e-4
#: the mean score above which a pair counts as in sync
THRESHOLD = 0.5


def bare(module: nn.Module) -> nn.Module:
    """The network inside a DDP wrapper (the module itself when not wrapped)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def sync_loss(score: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """MSE of every cell of the (B, 1, 8, 8) score map to its pair's label (B,) (1 in sync, 0 off sync)."""
    target = label.to(score.dtype).reshape(-1, *([1] * (score.ndim - 1))).expand_as(score)
    return F.mse_loss(score, target)


def pair_scores(score: torch.Tensor) -> torch.Tensor:
    """(B,) the mean of each pair's score map: the value thresholded at :data:`THRESHOLD`."""
    return score.float().flatten(1).mean(1)


def sync_metrics(scores: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Accuracy (overall, in sync, off sync) and mean score per class of (N,) pair scores and (N,) labels."""
    labels = labels.bool()
    right = (scores > THRESHOLD) == labels
    out = {"accuracy": float(right.float().mean())}
    for name, mask in (("in_sync", labels), ("off_sync", ~labels)):
        if mask.any():
            out[f"accuracy_{name}"] = float(right[mask].float().mean())
            out[f"score_{name}"] = float(scores[mask].mean())
    return out


def make_optimizer(net: nn.Module, lr: float = DEFAULT_LR) -> torch.optim.Optimizer:
    """AdamW(lr) over the SyncNet's parameters (torch defaults otherwise: betas (0.9, 0.999), weight decay 0.01)."""
    return torch.optim.AdamW(net.parameters(), lr=lr)


class SyncNetTask:
    """The SyncNet training task of :func:`talkingface.training.fit` (``modules``, ``train_step``, ``state_dict``,
    ``load_state_dict``, ``evaluate``). ``net``: SyncNet(15, 29, 128) on the run's device, possibly DDP-wrapped;
    ``eval_loader``: batches of held-out :class:`~lawdnet.train.syncnet_data.SyncPairs` (or None)."""

    def __init__(self, net: nn.Module, lr: float = DEFAULT_LR, eval_loader: Iterable[Any] | None = None):
        self.net, self.lr, self.eval_loader = net, float(lr), eval_loader
        self.optimizer = make_optimizer(net, self.lr)

    # -- the core's interface --------------------------------------------------------------------------------
    def modules(self) -> dict[str, nn.Module]:
        return {"syncnet": self.net}

    def train_step(self, batch: Mapping[str, Any], ctx) -> dict[str, torch.Tensor]:
        mouth, audio = batch["mouth"].to(ctx.device), batch["audio"].to(ctx.device)
        label = batch["label"].to(ctx.device)
        with ctx.autocast():
            score = self.net(mouth, audio)
        loss = sync_loss(score.float(), label)
        ctx.optimize(loss, [self.optimizer])
        right = ((pair_scores(score.detach()) > THRESHOLD) == label.bool()).float().mean()
        return {"loss_sync": loss.detach(), "accuracy": right}

    def state_dict(self, epoch: int) -> dict[str, Any]:
        state = OrderedDict((k, v.detach().cpu().clone()) for k, v in bare(self.net).state_dict().items())
        return {"state_dict": {"net": state}, "optimizer": self.optimizer.state_dict(), "epoch": int(epoch)}

    def load_state_dict(self, payload: Mapping[str, Any]) -> None:
        from talkingface.weights import load_state_strict, strip_ddp_prefix

        load_state_strict(bare(self.net), strip_ddp_prefix(payload["state_dict"]["net"]), "checkpoint",
                          "['state_dict']['net']")
        if "optimizer" in payload:
            self.optimizer.load_state_dict(payload["optimizer"])

    @torch.no_grad()
    def evaluate(self, ctx) -> dict[str, float] | None:
        """Held-out loss, accuracy (threshold 0.5 on the mean score) and mean scores; None without held-out pairs."""
        if self.eval_loader is None:
            return None
        net = bare(self.net)
        scores, labels, loss_sum = [], [], 0.0
        for batch in self.eval_loader:
            label = batch["label"].to(ctx.device)
            with ctx.autocast():
                score = net(batch["mouth"].to(ctx.device), batch["audio"].to(ctx.device)).float()
            loss_sum += float(sync_loss(score, label)) * len(label)
            scores.append(pair_scores(score).cpu())
            labels.append(label.cpu())
        if not scores:
            return None
        scores_t, labels_t = torch.cat(scores), torch.cat(labels)
        return {"loss_sync": loss_sum / len(labels_t), **sync_metrics(scores_t, labels_t)}
