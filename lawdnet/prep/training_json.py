"""Step ``--generate_training_json``: crops + feature rows -> the authors' training JSON (``clip_data_list`` …)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lawdnet.prep import layout
from talkingface.fsutil import atomic_path

#: the key of each feature kind in a clip entry (dp1 is what DINet and LawDNet's SyncNet read, dp2 LawDNet's generator)
KEYS = {"dp1": "deep_speech_list", "dp2": "deep_speech_dp2_list"}
#: the authors' dataset gives a zero sample for a video with fewer clips (it draws 6 distinct clips)
MIN_CLIPS = 6


def length_fix(frames: int, rows: int) -> str | None:
    """What ``lawdnet.features.align_rows`` does to ``rows`` feature rows for ``frames`` video frames (None: equal)."""
    if rows == frames:
        return None
    if rows > frames:
        return f"cut the last {rows - frames} row(s)"
    return f"repeated the last row {frames - rows} time(s)"


def videos_on_disk(root: Path) -> list[str]:
    """Every video whose crop step has finished under ``root``."""
    done = Path(root) / ".done" / "crops"
    return sorted(p.name[:-5] for p in done.glob("*.json")) if done.is_dir() else []


def video_entry(root: Path, video: str, features: tuple[str, ...], clip_length: int, path_root: str
                ) -> tuple[VideoClips, dict[str, Any]]:
    """(the clips of ``video`` ready to be written, its length check); ValueError with the reason when they cannot."""
    frames_rec = layout.marker(root, "frames", video)
    crops_rec = layout.marker(root, "crops", video)
    if frames_rec is None or crops_rec is None:
        raise ValueError("its frame or crop step has not finished")
    n = int(frames_rec["frames"])
    check = {"frames": n}
    for kind in features:
        path = layout.feature_path(root, kind, video)
        if layout.marker(root, kind, video) is None or not path.is_file():
            raise ValueError(f"no {kind} features (run --extract_deep_speech --features {kind})")
        feats = np.loadtxt(path, ndmin=2)
        if feats.shape[1] != 29:
            raise ValueError(f"{path.name}: expected 29 columns, got {feats.shape[1]}")
        check[f"{kind}_rows"] = int(feats.shape[0])
        check[f"{kind}_fix"] = length_fix(n, feats.shape[0])
    clip_root = Path(root) / layout.CROPS / video
    clips = []
    for clip_dir in sorted(p for p in clip_root.iterdir() if p.is_dir()):
        names = sorted(p.name for p in clip_dir.glob("*.jpg"))
        start = int(clip_dir.name) * clip_length
        if names != [layout.frame_name(i) for i in range(start, start + clip_length)]:
            raise ValueError(f"clip {clip_dir.name} does not hold frames {start}..{start + clip_length - 1}")
        clips.append((clip_dir.name, start, names))
    return VideoClips(Path(root), video, n, clips, features, clip_length, path_root), check


class VideoClips:
    """One video's checked clips; :meth:`entries` reads its feature rows again and makes the clips' JSON entries one
    at a time (a 2-hour video has 20,000 clips: ~0.8 GB of Python lists at once; a dataset, its videos' rows)."""

    def __init__(self, root: Path, video: str, frames: int, clips: list[tuple[str, int, list[str]]],
                 features: tuple[str, ...], clip_length: int, path_root: str):
        self.root, self.video, self.frames, self.clips = root, video, frames, clips
        self.features, self.clip_length, self.path_root = features, clip_length, path_root

    def __len__(self) -> int:
        return len(self.clips)

    def entries(self) -> Iterator[dict[str, Any]]:
        from lawdnet.features import align_rows

        v = self.video
        rows = {kind: align_rows(np.loadtxt(layout.feature_path(self.root, kind, v), ndmin=2), self.frames)
                for kind in self.features}                # the kit's one rule: row i <-> frame i, never a blind cut
        for name, start, frames in self.clips:
            entry = {"frame_name_list": [f"{v}/{name}/{f}" for f in frames],
                     "frame_path_list": [f"{self.path_root}/{layout.CROPS}/{v}/{name}/{f}" for f in frames]}
            for kind in self.features:
                entry[KEYS[kind]] = rows[kind][start:start + self.clip_length].tolist()
            yield entry


def write_json(path: Path, videos: list[VideoClips]) -> Path:
    """``path`` (atomically): the text of ``json.dumps({video: {"video_clip_num": n, "clip_data_list": [...]}})``,
    written a clip entry at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write("{")
        for i, clips in enumerate(videos):
            fh.write(f'{", " if i else ""}{json.dumps(clips.video)}: {{"video_clip_num": {len(clips)}, '
                     f'"clip_data_list": [')
            for j, entry in enumerate(clips.entries()):
                fh.write((", " if j else "") + json.dumps(entry))
            fh.write("]}")
        fh.write("}")
    return path


def build_training_json(root: Path, videos: list[str], features: tuple[str, ...] = ("dp1", "dp2"),
                        clip_length: int = 9, path_root: str | None = None, min_clips: int = MIN_CLIPS,
                        json_name: str = layout.JSON) -> dict[str, Any]:
    """Write ``root/json_name`` for ``videos`` (those that have all their steps) and return its summary: videos and
    clips written, videos left out with the reason, every rows-vs-frames disagreement and how it was fixed.
    ``path_root`` replaces ``root`` at the start of ``frame_path_list`` (the authors open those paths as they are:
    give the folder as their training code will see it; default the absolute output folder)."""
    root = Path(root)
    prefix = (path_root if path_root is not None else str(root.resolve())).rstrip("/") or "/"
    kept, left_out, mismatches = [], {}, {}
    for video in sorted(videos):
        try:
            clips, check = video_entry(root, video, features, clip_length, prefix)
        except (ValueError, OSError) as exc:
            left_out[video] = str(exc)
            continue
        if any(check.get(f"{k}_fix") for k in features):
            mismatches[video] = check
        if len(clips) < min_clips:
            left_out[video] = (f"{len(clips)} clips, fewer than {min_clips} (the authors' dataset "
                               "draws 6 distinct clips per sample)")
            continue
        kept.append(clips)
    path = write_json(root / json_name, kept)
    return {"path": str(path), "videos": len(kept), "clips": sum(len(c) for c in kept),
            "features": list(features), "left_out": left_out, "length_mismatches": mismatches}
