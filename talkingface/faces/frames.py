"""Images around the face crop: huge ones reduced, tiny ones warned about, faces found on a reduced copy, cropping.

Sizes (docs/face_crop.md): an image whose longest side is over :data:`MAX_SIDE` (2048) px is reduced with an area
filter before any model sees it (an 8000x8000 source otherwise costs gigabytes in the model's float64 resize); one
whose longest side, or whose face box, is under :data:`MIN_SIDE` (64) px is warned about in one log line (DaGAN
works at 256x256, so it is upscaled). Faces are looked for on a copy whose longest side is at most
:data:`DETECT_SIDE` (640) px, as ``crop-video.py`` (``extract_bbox``) does, and reported in the full image's pixels.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import numpy as np

from talkingface.landmarks import Face, LandmarkBackend

log = logging.getLogger(__name__)

MAX_SIDE = 2048
MIN_SIDE = 64
DETECT_SIDE = 640


def reduce_to(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """(image, factor): ``image`` itself (factor 1) when its longest side is at most ``max_side``, else a copy
    reduced with OpenCV's area filter to ``(int(h / f), int(w / f))``, ``f = longest / max_side``, as
    ``crop-video.py`` sizes it."""
    import cv2

    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return image, 1.0
    factor = longest / max_side
    size = (max(1, int(width / factor)), max(1, int(height / factor)))
    return cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA), factor


def limit_size(image: np.ndarray, name: str = "image", max_side: int = MAX_SIDE) -> np.ndarray:
    """``image`` with its longest side reduced to at most ``max_side`` (area filter; logged), else unchanged;
    a warning when its longest side is under :data:`MIN_SIDE`."""
    height, width = image.shape[:2]
    reduced, factor = reduce_to(image, max_side)
    if factor != 1.0:
        log.info("%s: %dx%d px reduced to %dx%d before the model sees it (longest side at most %d)", name, width,
                 height, reduced.shape[1], reduced.shape[0], max_side)
    warn_if_tiny(max(height, width), name, "image")
    return reduced


def warn_if_tiny(side: float, name: str, what: str) -> bool:
    """One warning when ``side`` (px) is under :data:`MIN_SIDE`; True when it was."""
    if side >= MIN_SIDE:
        return False
    log.warning("%s: the %s is only %d px (under %d): DaGAN works at 256x256, so it is upscaled about %.0fx and the "
                "result will be blurry", name, what, round(side), MIN_SIDE, 256 / max(side, 1))
    return True


def _scaled(face: Face | None, factor: float) -> Face | None:
    if face is None or factor == 1.0:
        return face
    return Face((face.points * factor).astype(np.float32), np.asarray(face.box, np.float64) * factor)


def find_face(backend: LandmarkBackend, image: np.ndarray, max_side: int = DETECT_SIDE) -> Face | None:
    """The face ``backend`` finds in ``image`` (looked for on a copy reduced to ``max_side``), in ``image``'s
    pixels; None when there is none."""
    small, factor = reduce_to(image, max_side)
    return _scaled(backend.detect_face(small), factor)


def find_faces(backend: LandmarkBackend, frames: Iterable[np.ndarray],
               max_side: int = DETECT_SIDE) -> Iterator[Face | None]:
    """One :func:`find_face` result per frame, in order, streaming (``backend.detect_faces``)."""
    factors: list[float] = []

    def reduced():
        for frame in frames:
            small, factor = reduce_to(frame, max_side)
            factors.append(factor)
            yield small

    for face in backend.detect_faces(reduced()):
        yield _scaled(face, factors.pop(0))


def crop(image: np.ndarray, box) -> np.ndarray:
    """The pixels of ``box`` (integer, inside the image): a view, (..., H, W, C) images and batches alike."""
    left, top, right, bot = (int(v) for v in box)
    return image[..., top:bot, left:right, :]
