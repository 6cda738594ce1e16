"""DaGAN's training augmentation (the authors' ``augmentation.py``): random horizontal / time flip, then colour jitter.

    params = AugmentationParams.from_dict(cfg["dataset_params"]["augmentation_params"])   # or .vox_adv_256()
    pair = augment(pair, params, np.random.default_rng(...))    # (2, H, W, 3) uint8 in, float32 [0, 1] out

What the authors' code does (``AllAugmentationTransform`` with flip_param and jitter_param, vox-adv-256), kept here:

* ``RandomFlip``: draw u1; if ``time_flip`` and u1 < 0.5 the clip's frame order is reversed and **nothing else**
  happens (the horizontal flip is not considered); otherwise draw u2 and, if ``horizontal_flip`` and u2 < 0.5,
  mirror every frame left-right. So with both on: time flip 1/2, horizontal flip 1/4, neither 1/4, never both.
* ``ColorJitter``: factors brightness, contrast, saturation ~ U[max(0, 1 - x), 1 + x] and hue ~ U[-h, h], drawn in
  that order (a parameter of 0 turns its operation off); the enabled operations, listed as brightness, saturation,
  hue, contrast, are put in a random order (``random.shuffle``) and applied, with the same factors and order, to
  every frame of the clip: float frame -> ``img_as_ubyte`` -> PIL -> torchvision's PIL ops (``ImageEnhance``
  Brightness / Color / Contrast; hue = uint8 shift of PIL's HSV hue channel by ``int(hue * 255)`` mod 256) ->
  ``img_as_float`` -> float32.

The frames the dataset reads are uint8, so ``img_as_ubyte`` gives back exactly the bytes read: this module works on
uint8 and converts to float32 at the end as the authors' code does (:func:`to_float32`), bit for bit
(``tests/data/golden/dagan_augment.npz``, made by ``scripts/make_golden_augment.py`` from the authors' functions).
Random draws come from the numpy Generator passed in, never from the global ``random`` / ``np.random`` state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from talkingface.errors import ConfigError

#: the authors' list order of the jitter operations, before ``random.shuffle``
JITTER_OPS = ("brightness", "saturation", "hue", "contrast")


@dataclass(frozen=True)
class AugmentationParams:
    """The yaml's ``augmentation_params`` (flip_param + jitter_param; 0 / False turns a part off)."""

    horizontal_flip: bool = False
    time_flip: bool = False
    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0

    def __post_init__(self) -> None:
        for name in ("brightness", "contrast", "saturation", "hue"):
            if not float(getattr(self, name)) >= 0:
                raise ConfigError(f"augmentation_params: jitter {name} must be >= 0, got {getattr(self, name)}")
        if self.hue > 0.5:
            raise ConfigError(f"augmentation_params: jitter hue must be <= 0.5, got {self.hue}")

    @classmethod
    def vox_adv_256(cls) -> AugmentationParams:
        """config/vox-adv-256.yaml: both flips, every jitter at 0.1."""
        return cls(True, True, 0.1, 0.1, 0.1, 0.1)

    @classmethod
    def from_dict(cls, params: dict[str, Any] | None) -> AugmentationParams:
        """From the yaml layout ``{flip_param: {horizontal_flip, time_flip}, jitter_param: {brightness, ...}}``."""
        params = dict(params or {})
        unsupported = sorted(set(params) - {"flip_param", "jitter_param"})
        if unsupported:
            raise ConfigError(f"augmentation_params: {', '.join(unsupported)} not supported (DaGAN's configs use "
                              "only flip_param and jitter_param)")
        flip, jitter = dict(params.get("flip_param") or {}), dict(params.get("jitter_param") or {})
        bad = sorted(set(flip) - {"horizontal_flip", "time_flip"}) + sorted(set(jitter) - set(JITTER_OPS))
        if bad:
            raise ConfigError(f"augmentation_params: unknown field {bad[0]!r}")
        try:
            return cls(bool(flip.get("horizontal_flip", False)), bool(flip.get("time_flip", False)),
                       **{k: float(v) for k, v in jitter.items()})
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"augmentation_params: jitter values must be numbers ({exc})") from None

    @property
    def jitter(self) -> bool:
        return any(getattr(self, name) > 0 for name in JITTER_OPS)


@dataclass(frozen=True)
class FlipDraw:
    """The outcome of ``RandomFlip``: reverse the frame order, or mirror left-right (never both)."""

    time: bool = False
    horizontal: bool = False


@dataclass(frozen=True)
class JitterDraw:
    """The outcome of ``ColorJitter``: each factor (None = off) and the order the operations are applied in."""

    brightness: float | None = None
    contrast: float | None = None
    saturation: float | None = None
    hue: float | None = None
    order: tuple[str, ...] = ()


def draw_flip(params: AugmentationParams, rng: np.random.Generator) -> FlipDraw:
    """``RandomFlip.__call__``'s draws: u1 always; u2 only when the time flip did not happen."""
    if rng.random() < 0.5 and params.time_flip:
        return FlipDraw(time=True)
    return FlipDraw(horizontal=bool(rng.random() < 0.5 and params.horizontal_flip))


def draw_jitter(params: AugmentationParams, rng: np.random.Generator) -> JitterDraw:
    """``ColorJitter.get_params`` (brightness, contrast, saturation, hue, in that order), then the shuffle."""
    def factor(x: float) -> float | None:
        return float(rng.uniform(max(0.0, 1 - x), 1 + x)) if x > 0 else None

    b, c, s = factor(params.brightness), factor(params.contrast), factor(params.saturation)
    h = float(rng.uniform(-params.hue, params.hue)) if params.hue > 0 else None
    values = {"brightness": b, "contrast": c, "saturation": s, "hue": h}
    enabled = [name for name in JITTER_OPS if values[name] is not None]
    order = tuple(enabled[i] for i in rng.permutation(len(enabled)))
    return JitterDraw(b, c, s, h, order)


def apply_flip(frames: np.ndarray, draw: FlipDraw) -> np.ndarray:
    """(T, H, W, C) frames flipped as ``draw`` says (a view when nothing changes)."""
    if draw.time:
        return frames[::-1]
    if draw.horizontal:
        return frames[:, :, ::-1]
    return frames


def _hue(image, factor: float):
    from PIL import Image

    h, s, v = image.convert("HSV").split()
    shift = int(factor * 255) % 256                   # torchvision: np.int32(f * 255).astype(np.uint8)
    hue = ((np.asarray(h, dtype=np.uint16) + shift) % 256).astype(np.uint8)
    return Image.merge("HSV", (Image.fromarray(hue, "L"), s, v)).convert("RGB")


def _jitter_one(frame: np.ndarray, draw: JitterDraw) -> np.ndarray:
    from PIL import Image, ImageEnhance

    image = Image.fromarray(np.ascontiguousarray(frame), "RGB")
    for name in draw.order:
        value = getattr(draw, name)
        if name == "hue":
            image = _hue(image, value)
        else:
            enhancer = {"brightness": ImageEnhance.Brightness, "contrast": ImageEnhance.Contrast,
                        "saturation": ImageEnhance.Color}[name]
            image = enhancer(image).enhance(value)
    return np.asarray(image)


def apply_jitter(frames: np.ndarray, draw: JitterDraw) -> np.ndarray:
    """(T, H, W, 3) uint8 frames jittered with ``draw``'s factors in ``draw.order`` (uint8 out)."""
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"apply_jitter needs (T, H, W, 3) uint8 frames, got {frames.dtype} {frames.shape}")
    if not draw.order:
        return frames
    return np.stack([_jitter_one(frame, draw) for frame in frames])


def to_float32(frames: np.ndarray, jittered: bool) -> np.ndarray:
    """uint8 -> float32 in [0, 1] as the authors' code gets it: ``img_as_float(...).astype(float32)`` (k / 255,
    correctly rounded) after the jitter, ``img_as_float32`` (k * float32(1 / 255)) without; 1 ulp apart at most."""
    if jittered:
        return (frames / 255.0).astype(np.float32)
    return frames.astype(np.float32) * np.float32(1 / 255)


def augment(frames: np.ndarray, params: AugmentationParams, rng: np.random.Generator) -> np.ndarray:
    """The authors' ``AllAugmentationTransform`` (flip, then jitter) on (T, H, W, 3) uint8 frames, float32 out."""
    frames = apply_flip(frames, draw_flip(params, rng))
    if params.jitter:
        frames = apply_jitter(frames, draw_jitter(params, rng))
    return to_float32(np.ascontiguousarray(frames), params.jitter)
