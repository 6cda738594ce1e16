"""lawdnet.landmark_track: misses filled from the last good frame, counted and logged; no face is a MediaError."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from lawdnet.landmark_track import LandmarkTrack, fill_misses, track_landmarks, track_video
from talkingface.errors import MediaError
from talkingface.landmarks import LandmarkBackend


class Scripted(LandmarkBackend):
    """Answers frame k (a number) with landmarks k + 0.5 everywhere, or None when k is in ``misses``."""

    name = "scripted"

    def __init__(self, misses=()):
        self.misses = set(misses)

    def detect(self, frame):
        k = int(frame)
        return None if k in self.misses else np.full((68, 2), k + 0.5, dtype=np.float32)


def values(track: LandmarkTrack) -> list[float]:
    return [float(p[0, 0]) for p in track.points]


def test_no_misses():
    track = track_landmarks(range(4), Scripted())
    assert isinstance(track, LandmarkTrack)
    assert track.points.shape == (4, 68, 2) and track.points.dtype == np.float32
    assert values(track) == [0.5, 1.5, 2.5, 3.5] and track.misses == 0


def test_misses_keep_the_last_good_and_are_counted(caplog):
    with caplog.at_level(logging.WARNING, logger="lawdnet.landmark_track"):
        track = track_landmarks(range(8), Scripted(misses={0, 1, 4, 5, 7}), source="talk.mp4")
    assert values(track) == [2.5, 2.5, 2.5, 3.5, 3.5, 3.5, 6.5, 6.5]
    assert track.misses == 5
    points, misses = track                                                     # unpacks as a pair
    assert misses == 5 and points is track.points
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "talk.mp4" in warnings[0].getMessage() and "5 of 8" in warnings[0].getMessage()


def test_no_warning_without_misses(caplog):
    with caplog.at_level(logging.WARNING, logger="lawdnet.landmark_track"):
        track_landmarks(range(3), Scripted())
    assert not caplog.records


def test_no_face_at_all_names_the_file():
    with pytest.raises(MediaError, match=r"talk\.mp4: no face found in any of its 3 frames"):
        track_landmarks(range(3), Scripted(misses={0, 1, 2}), source="talk.mp4")
    with pytest.raises(MediaError, match="empty.mp4: has no frames"):
        fill_misses([], "empty.mp4")


def test_wrong_landmark_shape():
    with pytest.raises(ValueError, match="frame 1"):
        fill_misses([np.zeros((68, 2)), np.zeros((5, 2))], "x.mp4")


def test_extra_columns_are_dropped():
    track = fill_misses([np.ones((68, 3)), None])
    assert track.points.shape == (2, 68, 2) and track.misses == 1


def test_track_video_with_a_face(make_video):
    from talkingface.landmarks import make_backend

    track = track_video(make_video.talking_head(frames=3), make_backend("offline"))
    assert track.points.shape == (3, 68, 2) and track.misses == 0
    assert np.isfinite(track.points).all()


def test_track_video_without_a_face(make_video):
    from talkingface.landmarks import make_backend

    path = make_video(frames=3, size=(64, 48))
    with pytest.raises(MediaError, match="no face found in any of its 3 frames") as err:
        track_video(path, make_backend("offline"))
    assert str(path) in str(err.value)
