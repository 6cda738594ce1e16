"""DaGAN's training losses: :class:`GeneratorLoss` and :class:`DiscriminatorLoss`, the authors' GeneratorFullModel
and DiscriminatorFullModel (``modules/model.py`` @ 052ad359) term for term.

    gen_loss = GeneratorLoss(kp_detector, generator, discriminator, depth_encoder, depth_decoder, vgg, train_params)
    losses, generated = gen_loss(source, driving)          # {name: weighted scalar}, generator outputs + keypoints
    sum(losses.values()).backward()                        # G + KP step
    disc_losses = DiscriminatorLoss(discriminator, train_params)(driving, generated)   # {"disc_gan": ...}

Terms (names as the authors'; each already multiplied by its ``loss_weights`` entry, present only when that weight
is non-zero): ``perceptual`` (dagan.train.perceptual), ``gen_gan`` (LSGAN, ``mean((1 - D(pred))**2)``),
``feature_matching`` (``mean|D_i(real) - D_i(pred)|`` per discriminator block), ``equivariance_value`` /
``equivariance_jacobian`` (dagan.train.equivariance), ``kp_distance``, ``kp_scale``, ``depth_constraint``. The
discriminator sees the driving keypoints detached; its loss detaches the prediction.

``mode`` is the authors' ``--rgbd`` (the paper: the keypoint detector sees RGB + depth, 4 channels), ``--use_depth``
(``"depth"``: depth only) or neither (``"rgb"``). The depth network is frozen and kept in eval mode (take its size
from ``cfg.depth_params.num_layers``: the authors' HEAD hard-codes ResNet-50, their published model used ResNet-18).
The keypoint detector runs on source, driving and warped driving frames in separate calls (each with its own
BatchNorm batch statistics in train mode), a fourth time on the prediction for ``kp_scale``.

The authors' quirks, reproduced on purpose:

* ``kp_prior``: its value is multiplied by the **kp_distance** weight and stored under ``kp_distance``. The
  authors' ``--kp_prior`` sets kp_distance to 0 (and kp_prior to 10), so their kp_prior run trained with this term
  at 0. Their value is a (B, K, K) tensor that train.py averages; here it is averaged already.
* ``kp_scale`` measures the source keypoints around the mean of the keypoints of the *prediction*.
* The G pass puts gradients into the discriminator's parameters (the real images' feature maps are not detached);
  zero the discriminator's gradients before its own backward, as the authors' train.py does.
* The random warp draws from torch's global RNG unless a CPU ``rng`` generator is passed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dagan.config import TrainParams
from dagan.train.equivariance import RandomTPS
from dagan.train.perceptual import ImagePyramid, Vgg19Features, perceptual_loss
from talkingface.errors import ConfigError

MODES = ("rgbd", "depth", "rgb")
WEIGHT_KEYS = ("generator_gan", "discriminator_gan", "feature_matching", "perceptual", "equivariance_value",
               "equivariance_jacobian", "kp_distance", "kp_prior", "kp_scale", "depth_constraint")
Keypoints = dict  # {"value": (B, K, 2), "jacobian": (B, K, 2, 2)}


@dataclass
class LossSettings:
    """The loss weights, perceptual pyramid scales and warp parameters of ``train_params``, checked."""

    weights: dict[str, Any]
    scales: list = field(default_factory=lambda: [1, 0.5, 0.25, 0.125])
    transform_params: dict = field(default_factory=dict)

    @classmethod
    def from_train_params(cls, train_params: TrainParams) -> LossSettings:
        weights = dict(train_params.loss_weights)
        missing = [k for k in WEIGHT_KEYS if k not in weights]
        if missing:
            raise ConfigError(f"train_params.loss_weights: missing {', '.join(missing)} (vox-adv-256 has all of "
                              f"{', '.join(WEIGHT_KEYS)})")
        unknown = sorted(set(weights) - set(WEIGHT_KEYS))
        if unknown:
            raise ConfigError(f"train_params.loss_weights: unknown loss {', '.join(unknown)}")
        if "sigma_affine" not in train_params.transform_params:
            raise ConfigError("train_params.transform_params: sigma_affine is required (vox-adv-256: 0.05)")
        return cls(weights, list(train_params.scales), dict(train_params.transform_params))

    def w(self, name: str):
        return self.weights[name]


def detach_kp(kp: Keypoints) -> Keypoints:
    return {k: v.detach() for k, v in kp.items()}


def _pair_distances(kp: torch.Tensor) -> torch.Tensor:
    """(B, K, K) distances between keypoints (sqrt(d^2 + 1e-8), as the authors)."""
    d = kp.unsqueeze(2) - kp.unsqueeze(1)
    return torch.sqrt((d * d).sum(-1) + 1e-8)


def kp_distance_term(kp: torch.Tensor) -> torch.Tensor:
    """Mean over pairs of ``1 - sign(dist + 0.2 I - 0.2)``: 2 for pairs closer than 0.2, 1 at exactly 0.2."""
    eye = torch.eye(kp.shape[1], dtype=kp.dtype, device=kp.device) * 0.2
    return (1 - torch.sign(_pair_distances(kp) + eye - 0.2)).mean()


def kp_prior_term(kp_source: torch.Tensor, kp_driving: torch.Tensor, depth_source: torch.Tensor,
                  depth_driving: torch.Tensor) -> torch.Tensor:
    """The authors' kp_prior before weighting, averaged: pairs closer than 0.1 plus |depth at kp - kp| terms."""
    spread = torch.relu(0.1 - _pair_distances(kp_source)) + torch.relu(0.1 - _pair_distances(kp_driving))
    b, k, _ = kp_source.shape
    total = spread
    for kp, depth in ((kp_source, depth_source), (kp_driving, depth_driving)):
        at_kp = F.grid_sample(depth, kp.view(b, 1, k, -1), align_corners=False)          # (B, 1, 1, K)
        total = total + torch.abs(at_kp.mean(-1, keepdim=True) - kp.view(b, 1, k, -1)).mean()
    return total.mean()


def kp_scale_term(kp_source: torch.Tensor, kp_driving: torch.Tensor, kp_pred: torch.Tensor) -> torch.Tensor:
    """Mean |s_i - s_{i+1}| of the per-keypoint ratios s = |driving - mean(driving)| / |source - mean(pred)|."""
    pk = kp_source - kp_pred.mean(1, keepdim=True)
    dk = kp_driving - kp_driving.mean(1, keepdim=True)
    ratio = torch.sqrt((dk * dk).sum(-1) + 1e-8) / torch.sqrt((pk * pk).sum(-1) + 1e-8)
    return torch.abs(ratio[:, :-1] - ratio[:, 1:]).mean()


def lsgan_generator(maps: dict, scales, weight: float) -> torch.Tensor:
    return sum(weight * ((1 - maps[f"prediction_map_{s}"]) ** 2).mean() for s in scales)


class GeneratorLoss(nn.Module):
    """The generator + keypoint detector objective (the authors' GeneratorFullModel)."""

    def __init__(self, kp_detector: nn.Module, generator: nn.Module, discriminator: nn.Module,
                 depth_encoder: nn.Module, depth_decoder: nn.Module, vgg: Vgg19Features | None,
                 train_params: TrainParams, mode: str = "rgbd"):
        super().__init__()
        if mode not in MODES:
            raise ConfigError(f"GeneratorLoss: mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.settings = LossSettings.from_train_params(train_params)
        self.mode = mode
        channels = _unwrap(generator).num_channels
        wanted = {"rgbd": channels + 1, "depth": 1, "rgb": channels}[mode]
        got = _input_channels(kp_detector)
        if got is not None and got != wanted:
            raise ConfigError(f"GeneratorLoss: mode {mode!r} feeds the keypoint detector {wanted} channels, "
                              f"it was built for {got}")
        if sum(self.settings.w("perceptual")) != 0 and vgg is None:
            raise ConfigError("GeneratorLoss: perceptual weights are non-zero but no VGG19 was given (build_vgg19)")
        self.kp_detector, self.generator, self.discriminator = kp_detector, generator, discriminator
        self.depth_encoder, self.depth_decoder, self.vgg = depth_encoder, depth_decoder, vgg
        for frozen in (depth_encoder, depth_decoder):
            frozen.requires_grad_(False).eval()
        self.pyramid = ImagePyramid(self.settings.scales, channels)

    def train(self, mode: bool = True) -> GeneratorLoss:
        super().train(mode)
        for frozen in (self.depth_encoder, self.depth_decoder, self.vgg):
            if frozen is not None:
                frozen.eval()
        return self

    def depth(self, image: torch.Tensor) -> torch.Tensor:
        """Disparity (B, 1, H, W) of images (B, 3, H, W) by the frozen depth network (gradients reach the image)."""
        return self.depth_decoder(self.depth_encoder(image))

    def keypoints(self, image: torch.Tensor, depth: torch.Tensor | None) -> Keypoints:
        """Keypoints of images as ``mode`` feeds them to the detector (``depth`` unused in ``"rgb"`` mode)."""
        if self.mode == "rgbd":
            return self.kp_detector(torch.cat((image, depth), 1))
        return self.kp_detector(depth if self.mode == "depth" else image)

    def forward(self, source: torch.Tensor, driving: torch.Tensor, rng: torch.Generator | None = None
                ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Images (B, 3, H, W) in [0, 1] -> (weighted losses, generated). ``generated`` holds the generator's
        outputs (``prediction`` ...), ``kp_source``, ``kp_driving``, ``depth_source``, ``depth_driving`` and, with
        the equivariance losses on, ``transformed_frame`` and ``transformed_kp``."""
        s = self.settings
        depth_source, depth_driving = self.depth(source), self.depth(driving)
        kp_source, kp_driving = self.keypoints(source, depth_source), self.keypoints(driving, depth_driving)
        generated = self.generator(source, kp_source=kp_source, kp_driving=kp_driving, source_depth=depth_source,
                                   driving_depth=depth_driving)
        generated.update(kp_source=kp_source, kp_driving=kp_driving, depth_source=depth_source,
                         depth_driving=depth_driving)
        prediction = generated["prediction"]
        losses: dict[str, torch.Tensor] = {}
        pyramid_real, pyramid_fake = self.pyramid(driving), self.pyramid(prediction)
        if sum(s.w("perceptual")) != 0:
            losses["perceptual"] = perceptual_loss(self.vgg, pyramid_fake, pyramid_real, s.scales, s.w("perceptual"))
        if s.w("generator_gan") != 0:
            self._gan_terms(pyramid_real, pyramid_fake, kp_driving, losses)
        if s.w("equivariance_value") + s.w("equivariance_jacobian") != 0:
            self._equivariance_terms(driving, kp_driving, generated, losses, rng)
        if s.w("kp_distance"):
            losses["kp_distance"] = s.w("kp_distance") * (kp_distance_term(kp_source["value"])
                                                          + kp_distance_term(kp_driving["value"]))
        if s.w("kp_prior"):          # weighted by kp_distance, as the authors (module docstring)
            losses["kp_distance"] = s.w("kp_distance") * kp_prior_term(kp_source["value"], kp_driving["value"],
                                                                       depth_source, depth_driving)
        if s.w("kp_scale"):
            kp_pred = self.keypoints(prediction, self.depth(prediction) if self.mode != "rgb" else None)
            losses["kp_scale"] = s.w("kp_scale") * kp_scale_term(kp_source["value"], kp_driving["value"],
                                                                 kp_pred["value"])
        if s.w("depth_constraint"):
            losses["depth_constraint"] = s.w("depth_constraint") * torch.abs(
                depth_driving - self.depth(prediction)).mean()
        return losses, generated

    def _gan_terms(self, pyramid_real: dict, pyramid_fake: dict, kp_driving: Keypoints, losses: dict) -> None:
        s, scales = self.settings, _unwrap(self.discriminator).scales
        kp = detach_kp(kp_driving)
        maps_fake = self.discriminator(pyramid_fake, kp=kp)
        maps_real = self.discriminator(pyramid_real, kp=kp)
        losses["gen_gan"] = lsgan_generator(maps_fake, scales, s.w("generator_gan"))
        fm_weights = s.w("feature_matching")
        if sum(fm_weights) != 0:
            total = 0
            for scale in scales:
                pairs = zip(maps_real[f"feature_maps_{scale}"], maps_fake[f"feature_maps_{scale}"], strict=False)
                for weight, (a, b) in zip(fm_weights, pairs, strict=False):
                    if weight != 0:
                        total = total + weight * torch.abs(a - b).mean()
            losses["feature_matching"] = total

    def _equivariance_terms(self, driving: torch.Tensor, kp_driving: Keypoints, generated: dict, losses: dict,
                            rng: torch.Generator | None) -> None:
        s = self.settings
        warp = RandomTPS.draw(driving.shape[0], **s.transform_params, generator=rng)
        frame = warp.transform_frame(driving)
        kp = self.keypoints(frame, self.depth(frame) if self.mode != "rgb" else None)
        generated["transformed_frame"], generated["transformed_kp"] = frame, kp
        if s.w("equivariance_value") != 0:
            value = torch.abs(kp_driving["value"] - warp.warp_coordinates(kp["value"])).mean()
            losses["equivariance_value"] = s.w("equivariance_value") * value
        if s.w("equivariance_jacobian") != 0:
            warped_jacobian = warp.jacobian(kp["value"]) @ kp["jacobian"]
            value = torch.inverse(kp_driving["jacobian"]) @ warped_jacobian
            eye = torch.eye(2, dtype=value.dtype, device=value.device).view(1, 1, 2, 2)
            losses["equivariance_jacobian"] = s.w("equivariance_jacobian") * torch.abs(eye - value).mean()


class DiscriminatorLoss(nn.Module):
    """The discriminator objective (the authors' DiscriminatorFullModel): LSGAN on the driving frame (real) and the
    detached prediction (fake), both conditioned on the detached driving keypoints."""

    def __init__(self, discriminator: nn.Module, train_params: TrainParams, num_channels: int = 3):
        super().__init__()
        self.settings = LossSettings.from_train_params(train_params)
        self.discriminator = discriminator
        self.pyramid = ImagePyramid(_unwrap(discriminator).scales, num_channels)

    def forward(self, driving: torch.Tensor, generated: dict[str, Any]) -> dict[str, torch.Tensor]:
        kp = detach_kp(generated["kp_driving"])
        maps_fake = self.discriminator(self.pyramid(generated["prediction"].detach()), kp=kp)
        maps_real = self.discriminator(self.pyramid(driving), kp=kp)
        weight = self.settings.w("discriminator_gan")
        total = 0
        for scale in _unwrap(self.discriminator).scales:
            key = f"prediction_map_{scale}"
            total = total + weight * ((1 - maps_real[key]) ** 2 + maps_fake[key] ** 2).mean()
        return {"disc_gan": total}


def _unwrap(module: nn.Module) -> nn.Module:
    """The network inside a DistributedDataParallel / DataParallel wrapper (the module itself otherwise)."""
    return getattr(module, "module", module)


def _input_channels(kp_detector: nn.Module) -> int | None:
    """Input channels of a KPDetector (its first convolution), None for another kind of module."""
    first = next((m for m in kp_detector.modules() if isinstance(m, nn.Conv2d)), None)
    return None if first is None else first.in_channels
