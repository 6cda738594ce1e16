"""LawDNet training draws: which clips and frames one frame-stage or clip-stage item takes (the authors' rules).

    draws = draw_frame(rng, clips=12)     # FrameDraws(source_clip, source_frame, reference_clips, reference_frames)
    draws = draw_clip(rng, clips=12)      # ClipDraws(source_clip, reference_clips 5 x 5, reference_frames 5 x 5)

The rules of the authors' ``dataset/dataset_DINet_frame.py`` and ``dataset_DINet_clip.py`` (LawDNet_2024 @ 76a14bb,
the same as DINet's), with ``rng`` a numpy Generator in place of Python's global ``random``:

* **frame stage**: 6 distinct clips of the video (``random.sample(range(n), 6)``): the first is the source clip, the
  other 5 give one reference each; the source frame is uniform in 2 … 6 (``random.choice(range(2, 7))``), so its
  audio window, feature rows [i - 2, i + 3), stays inside the 9-frame clip; each reference frame is uniform in 0 … 8.
* **clip stage**: one source clip (``random.sample(range(n), 1)``) whose frames 2 … 6 are the 5 sources (windows
  [i - 2, i + 3) each); for each source, 5 distinct clips (``random.sample(range(n), 5)``, the source clip may be
  among them) and one uniform frame 0 … 8 of each.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: frames per clip folder (the authors' ``clip_length``)
CLIP_FRAMES = 9
#: the source frames a clip offers: 2 … 6 (the frame stage draws one, the clip stage takes all five)
SOURCE_FRAMES = tuple(range(2, 7))
#: reference frames per source (stacked along channels: 15 = 5 x RGB)
REFERENCES = 5
#: audio rows per source frame: [i - 2, i + 3)
WINDOW = 5
#: clips a video needs: the frame stage draws 6 distinct ones (the authors' clip stage refuses fewer too)
MIN_CLIPS = 1 + REFERENCES


def window(frame: int) -> slice:
    """The feature rows of source frame ``frame``'s audio window: [frame - 2, frame + 3)."""
    return slice(frame - WINDOW // 2, frame + WINDOW // 2 + 1)


def _check_frames(frames: tuple[int, ...], what: str) -> None:
    if len(frames) != REFERENCES or not all(0 <= f < CLIP_FRAMES for f in frames):
        raise ValueError(f"{what}: need {REFERENCES} frame indices in 0..{CLIP_FRAMES - 1}, got {frames}")


def _check_clips(anchors: tuple[int, ...], clips: int, what: str) -> None:
    if len(set(anchors)) != len(anchors) or not all(0 <= a < clips for a in anchors):
        raise ValueError(f"{what}: need distinct clip indices in 0..{clips - 1}, got {anchors}")


@dataclass(frozen=True)
class FrameDraws:
    """One frame-stage item's draws: clip indices into the video's usable clips, frame indices into a clip."""

    source_clip: int
    source_frame: int
    reference_clips: tuple[int, ...]
    reference_frames: tuple[int, ...]

    def check(self, clips: int) -> None:
        """ValueError unless these draws follow the frame-stage rules for a video of ``clips`` clips."""
        if len(self.reference_clips) != REFERENCES:
            raise ValueError(f"reference_clips: need {REFERENCES}, got {self.reference_clips}")
        _check_clips((self.source_clip, *self.reference_clips), clips, "source and reference clips")
        if self.source_frame not in SOURCE_FRAMES:
            raise ValueError(f"source_frame must be in {SOURCE_FRAMES[0]}..{SOURCE_FRAMES[-1]}, "
                             f"got {self.source_frame}")
        _check_frames(self.reference_frames, "reference_frames")


@dataclass(frozen=True)
class ClipDraws:
    """One clip-stage item's draws: the source clip, and per source frame 5 reference clips and their frames."""

    source_clip: int
    reference_clips: tuple[tuple[int, ...], ...]
    reference_frames: tuple[tuple[int, ...], ...]

    def check(self, clips: int) -> None:
        """ValueError unless these draws follow the clip-stage rules for a video of ``clips`` clips."""
        _check_clips((self.source_clip,), clips, "source_clip")
        if len(self.reference_clips) != len(SOURCE_FRAMES) or len(self.reference_frames) != len(SOURCE_FRAMES):
            raise ValueError(f"need one reference set per source frame ({len(SOURCE_FRAMES)})")
        for k, (anchors, frames) in enumerate(zip(self.reference_clips, self.reference_frames, strict=True)):
            if len(anchors) != REFERENCES:
                raise ValueError(f"reference_clips[{k}]: need {REFERENCES}, got {anchors}")
            _check_clips(anchors, clips, f"reference_clips[{k}]")
            _check_frames(frames, f"reference_frames[{k}]")


def _ints(values: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def draw_frame(rng: np.random.Generator, clips: int) -> FrameDraws:
    """A frame-stage item's draws for a video of ``clips`` (>= 6) clips."""
    anchors = _ints(rng.choice(clips, 1 + REFERENCES, replace=False))
    source_frame = int(rng.integers(SOURCE_FRAMES[0], SOURCE_FRAMES[-1] + 1))
    return FrameDraws(anchors[0], source_frame, anchors[1:], _ints(rng.integers(0, CLIP_FRAMES, REFERENCES)))


def draw_clip(rng: np.random.Generator, clips: int) -> ClipDraws:
    """A clip-stage item's draws for a video of ``clips`` (>= 6) clips."""
    source = int(rng.integers(clips))
    anchors = tuple(_ints(rng.choice(clips, REFERENCES, replace=False)) for _ in SOURCE_FRAMES)
    frames = tuple(_ints(rng.integers(0, CLIP_FRAMES, REFERENCES)) for _ in SOURCE_FRAMES)
    return ClipDraws(source, anchors, frames)
