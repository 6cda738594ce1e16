"""Per-frame 68-point landmarks for LawDNet from any landmark backend, frames without a face filled from neighbours.

    track = track_landmarks(frames, backend, source="talk.mp4")   # any iterable of (H, W, 3) uint8 RGB frames
    track = track_video("talk.mp4", backend)                       # decodes with talkingface.media.VideoReader
    track.points        # (T, 68, 2) float32 (x, y) pixels, one per frame
    track.misses        # how many frames had no face (their landmarks are copied, see below)

A frame where the backend finds no face keeps the last good landmarks before it; misses before the first face take
the first good ones. The number of such frames is logged as a warning and returned. A video in which no frame has a
face is a :class:`talkingface.errors.MediaError` naming the file. No temporal smoothing is applied (the authors'
inference uses the raw per-frame landmarks too).
"""
from __future__ import annotations

import logging
import os
from typing import Iterable, NamedTuple

import numpy as np

from talkingface.errors import MediaError
from talkingface.landmarks.base import NUM_POINTS, LandmarkBackend

log = logging.getLogger(__name__)


class LandmarkTrack(NamedTuple):
    """(T, 68, 2) float32 landmarks, one per frame, and the number of frames whose landmarks were copied."""

    points: np.ndarray
    misses: int


def fill_misses(found: list[np.ndarray | None], source: str = "video") -> LandmarkTrack:
    """The track from per-frame results (None = no face): misses take the last good landmarks (leading ones the
    first good ones). MediaError naming ``source`` when there is no face at all (or no frame)."""
    if not found:
        raise MediaError(f"{source}: has no frames to find landmarks in")
    good = [i for i, p in enumerate(found) if p is not None]
    if not good:
        raise MediaError(f"{source}: no face found in any of its {len(found)} frames; LawDNet needs a visible face")
    points = np.empty((len(found), NUM_POINTS, 2), dtype=np.float32)
    last = np.asarray(found[good[0]], dtype=np.float32)[:, :2]
    for i, p in enumerate(found):
        if p is not None:
            last = np.asarray(p, dtype=np.float32)[:, :2]
            if last.shape != (NUM_POINTS, 2):
                raise ValueError(f"{source}: frame {i}: expected ({NUM_POINTS}, 2) landmarks, got {last.shape}")
        points[i] = last
    misses = len(found) - len(good)
    if misses:
        log.warning("%s: no face in %d of %d frames; their landmarks are copied from the nearest earlier good frame "
                    "(the first good one before any face)", source, misses, len(found))
    return LandmarkTrack(points, misses)


def track_landmarks(frames: Iterable[np.ndarray], backend: LandmarkBackend, source: str | os.PathLike = "video"
                    ) -> LandmarkTrack:
    """Landmarks of every frame of ``frames`` by ``backend`` (its ``detect_video``), misses filled (see the module
    docstring); ``source`` names the video in messages."""
    return fill_misses(list(backend.detect_video(frames)), str(source))


def track_video(path: str | os.PathLike, backend: LandmarkBackend) -> LandmarkTrack:
    """:func:`track_landmarks` over the decoded frames of the video at ``path``."""
    from talkingface.media import VideoReader

    with VideoReader(path) as reader:
        return track_landmarks(iter(reader), backend, source=path)
