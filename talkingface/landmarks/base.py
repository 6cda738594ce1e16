"""The landmark interface every backend implements, the face box it reports, and the DaGAN demo's normalisation."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

NUM_POINTS = 68

#: how far above the landmarks' top (the brows) a face box from landmarks alone reaches, in landmark heights: the
#: forehead that detector boxes (S3FD's, the VoxCeleb crops' detector) include; an approximation for backends
#: that give landmarks only (openface-csv)
FOREHEAD = 0.2


@dataclass(frozen=True)
class Face:
    """One face: its 68 landmarks ((68, 2) float32 (x, y) pixels) and its box ((4,) float64 left, top, right,
    bottom pixels) in the convention of a face detector's box — S3FD's, the detector the VoxCeleb crops of
    DaGAN/FOMM were made with (see each backend for how close it comes)."""

    points: np.ndarray
    box: np.ndarray


def landmark_box(points: np.ndarray) -> np.ndarray:
    """A detector-like face box from 68 landmarks alone: their extent, with the top raised by :data:`FOREHEAD`
    landmark heights (landmarks stop at the brows; detector boxes include the forehead)."""
    points = np.asarray(points, dtype=np.float64)[:, :2]
    left, top = points.min(axis=0)
    right, bottom = points.max(axis=0)
    return np.array([left, top - FOREHEAD * (bottom - top), right, bottom])


class LandmarkBackend(ABC):
    """Finds 68 landmarks of the (largest / first) face of an RGB uint8 frame."""

    name = "base"
    #: True when :meth:`detect_video` answers by frame number rather than by pixels (every frame must be passed)
    frame_indexed = False

    @abstractmethod
    def detect(self, frame: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB -> (68, 2) float32 array of (x, y) pixel positions, or None when no face is found."""

    def detect_video(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray | None]:
        """One :meth:`detect` result per frame, in order."""
        for frame in frames:
            yield self.detect(frame)

    def detect_face(self, frame: np.ndarray) -> Face | None:
        """The :class:`Face` (landmarks and box) of ``frame``, or None. Backends with a face detector report its
        box; this default derives one from the landmarks (:func:`landmark_box`)."""
        points = self.detect(frame)
        return None if points is None else Face(np.asarray(points, np.float32), landmark_box(points))

    def detect_faces(self, frames: Iterable[np.ndarray]) -> Iterator[Face | None]:
        """One :meth:`detect_face` result per frame, in order (by default from :meth:`detect_video`)."""
        for points in self.detect_video(frames):
            yield None if points is None else Face(np.asarray(points, np.float32), landmark_box(points))


class DetectorBackend(LandmarkBackend):
    """A backend with a face detector of its own: it implements :meth:`detect_face` (landmarks and the detector's
    box); the landmarks alone and the per-frame results follow from it."""

    @abstractmethod
    def detect_face(self, frame: np.ndarray) -> Face | None:
        """The :class:`Face` of the largest face of ``frame``, its box the detector's, or None."""

    def detect(self, frame: np.ndarray) -> np.ndarray | None:
        face = self.detect_face(frame)
        return None if face is None else face.points

    def detect_faces(self, frames: Iterable[np.ndarray]) -> Iterator[Face | None]:
        for frame in frames:
            yield self.detect_face(frame)


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
