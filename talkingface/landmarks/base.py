"""The landmark interface every backend implements, and the DaGAN demo's landmark normalisation."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterable, Iterator

import numpy as np

NUM_POINTS = 68


class LandmarkBackend(ABC):
    """Finds 68 landmarks of the (largest / first) face of an RGB uint8 frame."""

    name = "base"

    @abstractmethod
    def detect(self, frame: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB -> (68, 2) float32 array of (x, y) pixel positions, or None when no face is found."""

    def detect_video(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray | None]:
        """One :meth:`detect` result per frame, in order."""
        for frame in frames:
            yield self.detect(frame)


def normalize_landmarks(points: np.ndarray) -> np.ndarray | None:
    """The DaGAN/FOMM demo's normalisation: centre the points, divide by sqrt of their convex hull's area
    (None for degenerate points with no area)."""
    from scipy.spatial import ConvexHull, QhullError

    points = np.asarray(points, dtype=np.float64)[:, :2]
    centred = points - points.mean(axis=0, keepdims=True)
    try:
        area = ConvexHull(centred).volume
    except QhullError:
        return None
    return centred / np.sqrt(area) if area > 0 else None
