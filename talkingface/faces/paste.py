"""Paste an animated face crop back into the source image, with a feathered seam.

The crop (any size, e.g. DaGAN's 256x256) is resized to its box in the source (area filter when shrinking, bicubic
when enlarging) and blended in with an alpha that is 0 outside the box, 1 inside it, and rises smoothly (smoothstep)
over a band :data:`FEATHER` of the box's side wide along its inner edge — so pixels outside the box are untouched
and the seam has no step.
"""
from __future__ import annotations

import numpy as np

#: width of the alpha ramp, as a fraction of the box's side
FEATHER = 0.05


def feather_mask(height: int, width: int, feather: float = FEATHER) -> np.ndarray:
    """(height, width) float32 alpha: smoothstep of the distance of each pixel centre from the nearest edge over a
    ramp of ``max(1, feather * min(height, width))`` px; 1 in the middle."""
    ramp = max(1.0, feather * min(height, width))

    def profile(n: int) -> np.ndarray:
        centres = np.arange(n, dtype=np.float64) + 0.5
        t = np.clip(np.minimum(centres, n - centres) / ramp, 0.0, 1.0)
        return t * t * (3.0 - 2.0 * t)

    return (profile(height)[:, None] * profile(width)[None, :]).astype(np.float32)


class Paster:
    """``Paster(image, box).paste(face)`` -> a copy of ``image`` (H, W, 3) uint8 with ``face`` (h, w, 3) uint8 or
    float in [0, 1] resized into ``box`` (integer left, top, right, bottom inside the image) and feathered in."""

    def __init__(self, image: np.ndarray, box, feather: float = FEATHER):
        self.image = np.ascontiguousarray(image)
        self.box = tuple(int(v) for v in box)
        left, top, right, bot = self.box
        if not (0 <= left < right <= image.shape[1] and 0 <= top < bot <= image.shape[0]):
            raise ValueError(f"box {self.box} is not inside the {image.shape[1]}x{image.shape[0]} image")
        self.base = self.image[top:bot, left:right].astype(np.float32)
        self.alpha = feather_mask(bot - top, right - left, feather)[..., None]

    def paste(self, face: np.ndarray) -> np.ndarray:
        import cv2

        from talkingface.media.frames import to_uint8

        left, top, right, bot = self.box
        face = to_uint8(np.asarray(face))[..., :3]
        size = (right - left, bot - top)
        shrink = size[0] * size[1] < face.shape[0] * face.shape[1]
        resized = cv2.resize(np.ascontiguousarray(face), size,
                             interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC).astype(np.float32)
        out = self.image.copy()
        blended = self.base + self.alpha * (resized - self.base)
        out[top:bot, left:right] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
        return out
