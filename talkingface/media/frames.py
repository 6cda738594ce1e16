"""Frame arrays: the one shape check, the one float → uint8 conversion, and the one resize used across the kit.

Frames are RGB, (H, W, 3) for one and (N, H, W, 3) for a batch; pixels are uint8 (0..255) or float in [0, 1].
"""
from __future__ import annotations

import numpy as np


def frame_batch(frames, what: str = "frames", error: type[Exception] = ValueError) -> np.ndarray:
    """``frames`` as an (N, H, W, 3) array (a single (H, W, 3) frame becomes a batch of one); any other shape raises
    ``error`` naming ``what``. Values and dtype are left as they are."""
    array = np.asarray(frames)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] != 3:
        raise error(f"{what}: expected shape (N,H,W,3) or (H,W,3) RGB, got {array.shape}")
    return array


def to_uint8(array) -> np.ndarray:
    """uint8 as it is; float in [0, 1] clipped and rounded to 0..255 (``round(x * 255)``); other dtypes raise."""
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        return (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise ValueError(f"frames must be uint8 or float in [0, 1], got {array.dtype}")


def as_uint8_frames(frames) -> np.ndarray:
    """(H, W, 3) or (N, H, W, 3), uint8 or float in [0, 1] (torch tensors on CPU work too) -> (N, H, W, 3) uint8."""
    return to_uint8(frame_batch(frames))


def resize_frames(batch: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize (N, H, W, 3) uint8 frames to ``size`` (w, h): area filter when shrinking, bicubic when enlarging."""
    import cv2

    w, h = int(size[0]), int(size[1])
    shrink = w * h < batch.shape[1] * batch.shape[2]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in batch])
