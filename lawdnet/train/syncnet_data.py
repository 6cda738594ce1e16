"""SyncNet training pairs from the authors' training JSON: the clip stage's 5-frame mouth stack + an in/off-sync window.

    pairs = SyncPairs("training_json.json", mouth_size=256, min_shift=5, seed=0)
    pairs.set_epoch(epoch)                 # before each epoch (fit does it)
    item = pairs[i]   # {"mouth": (15, 256, 256), "audio": (29, 9), "label": 1.0 | 0.0, "shift": int, "video": name}
    train, val = split_videos(load_sync_videos(json_path), held_out_fraction=0.1)
    held_out = SyncPairs(json_path, videos=val)

What a pair is — exactly what LawDNet's clip stage feeds the frozen SyncNet (``lawdnet.train.losses``):

* **mouth**: frames 2 … 6 of one 9-frame clip (the clip stage's 5 sources, :data:`SOURCE_FRAMES`), read as the clip
  dataset reads them (:func:`lawdnet.train.dataset.read_frame` at ``crop_size(mouth_size)``, 416 x 320 for 256,
  468 x 360 for 288), flattened by :func:`frames_first`, stacked by :func:`stack_frames` and cropped by
  :func:`mouth_for_syncnet` (rows [m/2, 3m/2), columns [m/8, 9m/8), resized to 256 when m != 256): (15, 256, 256).
* **audio**, in sync (label 1): the clip's 9 ``features`` rows (dp1 ``deep_speech_list`` as the authors' SyncNet
  reads; frames 0 … 8, i.e. centred on frame 4, the middle of the 5 mouths), transposed to (29, 9) — the clip
  stage's ``deep_speech_full``. Off sync (label 0): the 9 rows starting ``shift`` frames away in the **same video**,
  ``min_shift <= |shift| <= max_shift`` (default any), drawn uniformly among the windows whose 9 rows all exist.

A video's rows are laid on its frame timeline: a clip starts at the number in its first frame's file name (the
authors' and the kit's crops name frames by their index in the video, ``%06d.jpg``, clip k holding 9k … 9k+8); when
a video's names are not 9 consecutive numbers per clip, its clips are taken as consecutive (the i-th usable clip at
frame 9i). Windows cross clip boundaries where both clips are usable; a left-out clip is a gap no window spans.

Item i pairs anchor clip ``(i // 2) % anchors`` with its own rows (i even) or a shifted window (i odd): labels are
exactly balanced over the dataset; ``len = 2 x anchors x repeats``. The shift is drawn from
``numpy.random.default_rng([seed, epoch, i])``, so an item is the same for any worker count and after a resume.
Clips with no window at an allowed shift cannot be anchors (both labels are left out, keeping the balance).
Videos are indexed by :func:`lawdnet.train.dataset.load_index` (the clip stage's checks; videos under 6 clips out).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lawdnet.config import crop_size
from lawdnet.prep.training_json import KEYS
from lawdnet.train.dataset import TrainClip, load_index, read_frame
from lawdnet.train.losses import frames_first, mouth_for_syncnet, stack_frames
from lawdnet.train.sampling import CLIP_FRAMES, SOURCE_FRAMES
from talkingface.errors import ConfigError

#: feature rows per SyncNet window (the clip's 9)
WINDOW = CLIP_FRAMES


@dataclass(frozen=True)
class SyncVideo:
    """One video's usable clips with their first frame's position on the video's timeline."""

    name: str
    clips: tuple[TrainClip, ...]
    starts: tuple[int, ...]


def _starts(clips: tuple[TrainClip, ...]) -> tuple[int, ...]:
    """Each clip's first frame number (from the file names), or 9i when the names do not say it."""
    try:
        numbers = [[int(p.stem) for p in clip.frames] for clip in clips]
    except ValueError:
        numbers = None
    if numbers and all(n == list(range(n[0], n[0] + CLIP_FRAMES)) for n in numbers):
        starts = tuple(n[0] for n in numbers)
        ordered = sorted(starts)
        if all(b - a >= CLIP_FRAMES for a, b in zip(ordered, ordered[1:], strict=False)):
            return starts
    return tuple(CLIP_FRAMES * i for i in range(len(clips)))


def load_sync_videos(json_path: str | os.PathLike[str], features: str = "dp1",
                     frames_root: str | os.PathLike[str] | None = None) -> list[SyncVideo]:
    """The usable videos of a training JSON with their clips' timeline positions (ConfigError when none)."""
    if features not in KEYS:
        raise ConfigError(f"features must be one of {sorted(KEYS)}, got {features!r}")
    videos, _ = load_index(json_path, (features,), frames_root)
    return [SyncVideo(v.name, v.clips, _starts(v.clips)) for v in videos]


def split_videos(videos: list[SyncVideo], held_out_fraction: float = 0.0, val_videos: tuple[str, ...] = ()
                 ) -> tuple[list[SyncVideo], list[SyncVideo]]:
    """(training, held-out) videos. ``val_videos``: those whole videos are held out. Else ``held_out_fraction``: the
    last ``max(2, ceil(fraction x clips))`` clips in time of **every** video are held out (2 so that a held-out
    window can be shifted), the earlier ones train; a video needs 2 clips left on each side."""
    if val_videos:
        names = {v.name for v in videos}
        unknown = sorted(set(val_videos) - names)
        if unknown:
            raise ConfigError(f"--val_videos: no usable video named {', '.join(unknown)} in the training JSON")
        train = [v for v in videos if v.name not in val_videos]
        if not train:
            raise ConfigError("--val_videos holds out every video: nothing is left to train on")
        return train, [v for v in videos if v.name in val_videos]
    if not 0.0 <= held_out_fraction < 1.0:
        raise ConfigError(f"held_out_fraction must be in [0, 1), got {held_out_fraction}")
    if held_out_fraction == 0.0:
        return list(videos), []
    train, val = [], []
    for v in videos:
        order = sorted(range(len(v.clips)), key=lambda i: v.starts[i])
        k = max(2, math.ceil(held_out_fraction * len(order)))
        if len(order) - k < 2:
            raise ConfigError(f"video {v.name}: {len(order)} clips cannot give {k} held-out clips and 2 to train on; "
                              f"lower --held_out_fraction or use --val_videos")
        for part, picked in ((train, order[:-k]), (val, order[-k:])):
            part.append(SyncVideo(v.name, tuple(v.clips[i] for i in picked), tuple(v.starts[i] for i in picked)))
    return train, val


@dataclass(frozen=True)
class _Timeline:
    """A video's feature rows by frame position, and which window starts have all 9 rows."""

    rows: np.ndarray          # (T, 29) float32 (zeros where no clip)
    valid: np.ndarray         # (T,) bool: window [q, q + 9) fully covered


def _timeline(video: SyncVideo, features: str) -> _Timeline:
    end = max(video.starts) + CLIP_FRAMES
    rows, covered = np.zeros((end, 29), np.float32), np.zeros(end, bool)
    for clip, start in zip(video.clips, video.starts, strict=True):
        rows[start:start + CLIP_FRAMES] = clip.rows[features]
        covered[start:start + CLIP_FRAMES] = True
    runs = np.concatenate([[0], np.cumsum(covered)])
    valid = np.zeros(end, bool)
    valid[:end - WINDOW + 1] = (runs[WINDOW:] - runs[:-WINDOW]) == WINDOW
    return _Timeline(rows, valid)


class SyncPairs:
    """Balanced in-sync / shifted pairs for SyncNet training; see the module doc. ``videos``: a list from
    :func:`split_videos` (default: every usable video of ``json_path``). Attributes: ``anchors`` ([(video, clip)]),
    ``left_out`` (anchors without an allowed shift), ``size`` (the face crop (H, W)), ``epoch``."""

    def __init__(self, json_path: str | os.PathLike[str], mouth_size: int = 256, min_shift: int = 5, seed: int = 0,
                 features: str = "dp1", frames_root: str | os.PathLike[str] | None = None,
                 videos: list[SyncVideo] | None = None, max_shift: int | None = None, repeats: int = 1):
        try:
            self.size = crop_size(int(mouth_size))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if int(min_shift) < 1 or (max_shift is not None and int(max_shift) < int(min_shift)):
            raise ConfigError(f"need 1 <= min_shift <= max_shift, got min_shift {min_shift}, max_shift {max_shift}")
        if int(repeats) < 1:
            raise ConfigError(f"repeats must be >= 1, got {repeats}")
        self.mouth_size, self.min_shift, self.seed, self.features = int(mouth_size), int(min_shift), int(seed), features
        self.max_shift = None if max_shift is None else int(max_shift)
        self.repeats, self.epoch = int(repeats), 0
        self.videos = videos if videos is not None else load_sync_videos(json_path, features, frames_root)
        self.timelines = [_timeline(v, features) for v in self.videos]
        self.anchors: list[tuple[int, int]] = []
        self.left_out: list[tuple[str, int]] = []
        for vi, video in enumerate(self.videos):
            for ci, start in enumerate(video.starts):
                target = self.anchors if len(self.shifts(vi, start)) else self.left_out
                target.append((vi, ci) if target is self.anchors else (video.name, start))
        if not self.anchors:
            raise ConfigError(f"{json_path}: no clip has a window shifted by >= {self.min_shift} frames in its video "
                              f"(videos too short for SyncNet pairs)")

    def shifts(self, video: int, start: int) -> np.ndarray:
        """The allowed off-sync shifts (frames, signed) of the clip of ``video`` starting at ``start``."""
        starts = np.flatnonzero(self.timelines[video].valid)
        shifts = starts - start
        keep = np.abs(shifts) >= self.min_shift
        if self.max_shift is not None:
            keep &= np.abs(shifts) <= self.max_shift
        return shifts[keep]

    def __len__(self) -> int:
        return 2 * len(self.anchors) * self.repeats

    def set_epoch(self, epoch: int) -> None:
        """Draws of the coming epoch (call before each epoch, before the loader's workers start)."""
        self.epoch = int(epoch)

    def draw(self, index: int) -> tuple[int, int, int]:
        """(video, clip, shift) of item ``index`` in the current epoch; shift 0 = in sync."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        vi, ci = self.anchors[(index // 2) % len(self.anchors)]
        if index % 2 == 0:
            return vi, ci, 0
        options = self.shifts(vi, self.videos[vi].starts[ci])
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        return vi, ci, int(options[rng.integers(len(options))])

    def mouth(self, clip: TrainClip) -> np.ndarray:
        """(15, 256, 256) float32: the clip's frames 2 … 6 as the clip stage's sync loss crops them."""
        frames = np.stack([read_frame(clip.frames[f], self.size).transpose(2, 0, 1) for f in SOURCE_FRAMES])
        stacked = stack_frames(frames_first(torch.from_numpy(frames)[None]))
        return mouth_for_syncnet(stacked, self.mouth_size)[0].numpy()

    def window(self, video: int, start: int) -> np.ndarray:
        """(29, 9) float32: the feature rows [start, start + 9) of ``video``, transposed."""
        return np.ascontiguousarray(self.timelines[video].rows[start:start + WINDOW].T)

    def __getitem__(self, index: int) -> dict[str, Any]:
        vi, ci, shift = self.draw(index)
        video = self.videos[vi]
        return {"mouth": self.mouth(video.clips[ci]), "audio": self.window(vi, video.starts[ci] + shift),
                "label": np.float32(shift == 0), "shift": shift, "video": video.name}
