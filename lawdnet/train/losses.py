"""LawDNet's frame-stage and clip-stage training losses, term for term as the authors' training scripts.

    weights = LossWeights()                                   # the authors' defaults (config/config.py)
    frame = FrameLosses(vgg, net_dI, weights)
    d = frame.discriminator(fake, real)                       # {"loss_dI"}: backward, step net_dI first
    g = frame.generator(fake, real)                           # {"loss_g_perception", "loss_g_dI", "loss_img"}
    sum(g.values()).backward()                                # = the authors' loss_g

    clip = ClipLosses(vgg, net_dI, net_dV, syncnet, weights, mouth_size=288)
    d = clip.discriminator(fake, real)                        # {"loss_dI", "loss_dV"}
    g = clip.generator(fake, real, deep_speech_full)          # + "loss_g_dV", "loss_sync"

Layouts (as the authors'): frame stage ``fake`` / ``real`` (B, 3, H, W) in [0, 1]. Clip stage: the generator's
batch is the clip batch (B, 5, 3, H, W) flattened **frame-major** by :func:`frames_first` (row ``f * B + b`` =
frame f of clip b; their ``torch.cat(torch.split(x, 1, dim=1), 0).squeeze(1)``), so ``fake`` / ``real`` are
(5B, 3, H, W); :func:`stack_frames` turns that into (B, 15, H, W) (channels = frame 0 RGB, frame 1 RGB, ...; their
``torch.cat(torch.split(x, batch_size, dim=0), 1)``) for net_dV and the SyncNet. ``deep_speech_full`` is (B, 29, 9):
the 9 DeepSpeech rows of the clip (the dp1 features) transposed, as their clip dataset returns it.

Terms (LawDNet_2024 @ 76a14bbf, ``train_LawDNet_frame_distributed.py`` lines 264-302 and
``train_LawDNet_clip_distributed.py`` lines 322-392; ``utils/training_utils.py`` ``GANLoss``):

* discriminators, LSGAN: ``loss_dI = (MSE(dI(fake.detach()), 0) + MSE(dI(real), 1)) * 0.5``; ``loss_dV`` the same
  on the 15-channel stacks (no loss weight on either);
* ``loss_g_perception``: :func:`lawdnet.train.perceptual.two_scale_perceptual` x ``lamb_perception``;
* ``loss_g_dI`` / ``loss_g_dV``: ``MSE(D(fake), 1)`` x ``lambda_g_dI`` / ``lambda_g_dV`` (gradients reach D's
  parameters too; the authors clear them with the next ``optimizer_d.zero_grad()``);
* ``loss_img``: ``MSE(fake, real)`` x ``lambda_img``;
* ``loss_sync`` (clip stage): the mouth rows ``[m//2, m//2 + m)``, columns ``[m//8, m//8 + m)`` (their
  ``radius // 4`` with ``radius = m // 2``) of the stacked fake clip, bilinearly resized to 256x256 when
  ``m != 256`` (align_corners False), ``MSE(SyncNet(mouth, deep_speech_full), 1)`` x ``lamb_syncnet_perception``.

The authors' step order (for the training step, not this file): D_I step, [D_V step], then the generator pass,
which therefore sees the discriminators **after** their update. On CUDA the losses run under autocast as theirs
(``amp=False`` turns that off); on CPU everything is float32.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import torch
import torch.nn.functional as F
from torch import nn

from lawdnet.train.perceptual import cuda_autocast, half_scale, two_scale_perceptual
from talkingface.errors import ConfigError

CLIP_FRAMES = 5
SYNCNET_SIZE = 256
Losses = dict[str, torch.Tensor]


@dataclass(frozen=True)
class LossWeights:
    """The loss weights, defaults = the authors' ``config/config.py`` (no experiment file overrides them)."""

    perception: float = 10.0     # lamb_perception
    syncnet: float = 0.1         # lamb_syncnet_perception (declared type=int there; the default 0.1 stays a float)
    img: float = 1.0             # lambda_img
    g_dI: float = 1.0            # lambda_g_dI
    g_dV: float = 1.0            # lambda_g_dV

    #: the authors' option name of each field
    AUTHORS_NAMES = {"perception": "lamb_perception", "syncnet": "lamb_syncnet_perception", "img": "lambda_img",
                     "g_dI": "lambda_g_dI", "g_dV": "lambda_g_dV"}

    @classmethod
    def from_options(cls, options: Mapping[str, float]) -> LossWeights:
        """From a mapping with the authors' option names (missing ones keep the defaults; others are an error)."""
        by_name = {v: k for k, v in cls.AUTHORS_NAMES.items()}
        unknown = sorted(set(options) - set(by_name))
        if unknown:
            raise ConfigError(f"unknown LawDNet loss weight(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
        return cls(**{by_name[k]: float(v) for k, v in options.items()})

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ConfigError(f"LawDNet loss weight {self.AUTHORS_NAMES[f.name]} must be >= 0, "
                                  f"got {getattr(self, f.name)}")


def lsgan(prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """The authors' ``GANLoss()`` (use_lsgan): ``MSE(prediction, 1 if real else 0)``."""
    return F.mse_loss(prediction, torch.full_like(prediction, 1.0 if target_is_real else 0.0))


def frames_first(clip: torch.Tensor) -> torch.Tensor:
    """(B, 5, ...) -> (5B, ...), frame-major (row f * B + b): the authors' flattening of clip-batch images
    (B, 5, C, H, W) and audio windows (B, 5, 29, 5)."""
    if clip.ndim < 3 or clip.shape[1] != CLIP_FRAMES:
        raise ValueError(f"expected a clip batch (B, {CLIP_FRAMES}, ...), got shape {tuple(clip.shape)}")
    return clip.transpose(0, 1).reshape(-1, *clip.shape[2:])


def stack_frames(frames: torch.Tensor) -> torch.Tensor:
    """(5B, C, H, W) frame-major -> (B, 5C, H, W) with frame f's channels at [f*C, (f+1)*C)."""
    n, c, h, w = frames.shape
    if n % CLIP_FRAMES:
        raise ValueError(f"a clip-stage batch holds {CLIP_FRAMES} frames per clip: got {n} images")
    b = n // CLIP_FRAMES
    return frames.reshape(CLIP_FRAMES, b, c, h, w).transpose(0, 1).reshape(b, CLIP_FRAMES * c, h, w)


def mouth_for_syncnet(stacked: torch.Tensor, mouth_size: int) -> torch.Tensor:
    """The SyncNet input of (B, 15, H, W) clips: rows [m//2, m//2 + m), columns [m//8, m//8 + m), resized to
    256x256 (bilinear) unless m is 256."""
    top, left = mouth_size // 2, (mouth_size // 2) // 4
    h, w = stacked.shape[-2:]
    if h < top + mouth_size or w < left + mouth_size:
        raise ConfigError(f"mouth_size {mouth_size} needs face crops of at least {top + mouth_size}x"
                          f"{left + mouth_size} (rows x columns), got {h}x{w}")
    mouth = stacked[:, :, top:top + mouth_size, left:left + mouth_size]
    if mouth_size != SYNCNET_SIZE:
        mouth = F.interpolate(mouth, size=(SYNCNET_SIZE, SYNCNET_SIZE), mode="bilinear")
    return mouth


def _check_pair(fake: torch.Tensor, real: torch.Tensor) -> None:
    if fake.shape != real.shape or fake.ndim != 4 or fake.shape[1] != 3:
        raise ValueError(f"fake and real must both be (N, 3, H, W) images: got {tuple(fake.shape)} and "
                         f"{tuple(real.shape)}")


def _d_loss(net_d: nn.Module, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    _, pred_fake = net_d(fake.detach())
    _, pred_real = net_d(real)
    return (lsgan(pred_fake, False) + lsgan(pred_real, True)) * 0.5


def image_terms(vgg: nn.Module, net_dI: nn.Module, fake: torch.Tensor, real: torch.Tensor, weights: LossWeights,
                amp: bool = True) -> Losses:
    """The terms both stages share: ``loss_g_perception``, ``loss_g_dI``, ``loss_img`` (weighted)."""
    halves = half_scale(fake, real)                   # outside autocast, as the authors
    with cuda_autocast(fake, amp):
        _, pred_fake = net_dI(fake)
        return {"loss_g_perception": two_scale_perceptual(vgg, fake, real, halves) * weights.perception,
                "loss_g_dI": lsgan(pred_fake, True) * weights.g_dI,
                "loss_img": F.mse_loss(fake, real) * weights.img}


@dataclass(eq=False)
class FrameLosses:
    """Frame-stage (64/128/256 mouth) losses: net_dI LSGAN, two-scale VGG perceptual, GAN, image MSE."""

    vgg: nn.Module
    net_dI: nn.Module
    weights: LossWeights = LossWeights()
    amp: bool = True

    def discriminator(self, fake: torch.Tensor, real: torch.Tensor) -> Losses:
        """``{"loss_dI"}``; ``fake`` is detached here."""
        _check_pair(fake, real)
        with cuda_autocast(fake, self.amp):
            return {"loss_dI": _d_loss(self.net_dI, fake, real)}

    def generator(self, fake: torch.Tensor, real: torch.Tensor) -> Losses:
        """``{"loss_g_perception", "loss_g_dI", "loss_img"}``, weighted; their sum is the authors' ``loss_g``."""
        _check_pair(fake, real)
        return image_terms(self.vgg, self.net_dI, fake, real, self.weights, self.amp)

    __call__ = generator


@dataclass(eq=False)
class ClipLosses:
    """Clip-stage losses: the frame-stage terms on all 5B frames, plus net_dV on 15-channel stacks and the
    SyncNet loss on the mouths. ``syncnet``: the frozen SyncNet(15, 29, 128) (``lawdnet.checkpoint.load_syncnet``);
    ``mouth_size``: the stage's mouth region (288 for the published clip stage)."""

    vgg: nn.Module
    net_dI: nn.Module
    net_dV: nn.Module
    syncnet: nn.Module
    weights: LossWeights = LossWeights()
    mouth_size: int = 288
    amp: bool = True
    last_sync_score: torch.Tensor | None = field(default=None, init=False, repr=False)   # of the last generator()

    def discriminator(self, fake: torch.Tensor, real: torch.Tensor) -> Losses:
        """``{"loss_dI", "loss_dV"}`` of frame-major (5B, 3, H, W) batches; ``fake`` is detached here."""
        _check_pair(fake, real)
        stacked_fake, stacked_real = stack_frames(fake), stack_frames(real)
        with cuda_autocast(fake, self.amp):
            return {"loss_dI": _d_loss(self.net_dI, fake, real),
                    "loss_dV": _d_loss(self.net_dV, stacked_fake, stacked_real)}

    def generator(self, fake: torch.Tensor, real: torch.Tensor, deep_speech_full: torch.Tensor) -> Losses:
        """``{"loss_g_perception", "loss_g_dI", "loss_g_dV", "loss_sync", "loss_img"}`` (weighted) of frame-major
        (5B, 3, H, W) batches and the clips' (B, 29, 9) DeepSpeech windows."""
        _check_pair(fake, real)
        stacked = stack_frames(fake)
        if tuple(deep_speech_full.shape) != (stacked.shape[0], 29, 9):
            raise ValueError(f"deep_speech_full must be ({stacked.shape[0]}, 29, 9) for {stacked.shape[0]} clips, "
                             f"got {tuple(deep_speech_full.shape)}")
        out = image_terms(self.vgg, self.net_dI, fake, real, self.weights, self.amp)
        w = self.weights
        with cuda_autocast(fake, self.amp):
            _, pred_fake_dV = self.net_dV(stacked)
            score = self.syncnet(mouth_for_syncnet(stacked, self.mouth_size), deep_speech_full)
            out["loss_g_dV"] = lsgan(pred_fake_dV, True) * w.g_dV
            out["loss_sync"] = F.mse_loss(score, torch.ones_like(score)) * w.syncnet
        self.last_sync_score = score.detach().float().mean()     # logged as `sync_score` (1 = in sync)
        return {k: out[k] for k in ("loss_g_perception", "loss_g_dI", "loss_g_dV", "loss_sync", "loss_img")}

    __call__ = generator
