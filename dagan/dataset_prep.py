"""DaGAN/FOMM training data from raw videos: face tracks cut into VoxCeleb-style square crops, split by identity.

    work = PrepWork(Settings(input_dir="raw"))            # picklable; the landmark backend is built in the worker
    run_jobs(find_videos("raw"), work, "data/")           # data/{train,test}/<id>#<video>#<start>#<end>.mp4

Per video (:meth:`PrepWork.__call__`) the frames are decoded twice, streaming, never held: first to find faces
(every ``detect_every``-th frame and the last one, on a copy reduced to 640 px), then to cut the kept tracks. A
track's one crop box is known only at its end (the union of its boxes), so a single pass would have to hold its
frames; the authors' crop_vox.py also estimates boxes and crops in two passes.

Tracks: :mod:`dagan.face_tracks` (every face; a shot/scale change, a lost face or one leaving the frame ends a
track). Tracks shorter than ``min_frames`` (64) are dropped; the crop of a kept track is
:func:`talkingface.faces.crop_box` of its union (1.2x, square, moved inside the frame, never cut), resized to
``size`` (256); a track is cut every ``max_frames`` frames when given.

Identity: ``top`` (the first folder under the input root: VoxCeleb's ``id10291/<video>.mp4`` and
``id00012/<yt>/00001.mp4``), ``parent``, ``stem``, or a CSV ``video,identity``. Split: by identity, never by clip:
listed ``test_ids``, else a seeded hash of the identity below ``test_fraction`` (stable when videos are added, and
the same on every shard). Two faces in one shot give two clips of the same identity, the largest face's named
first; a name taken already gets ``#2``, ``#3``. ``<start>``/``<end>``: first and last frame (0-based).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from dagan.face_tracks import Track, TrackBuilder, face_boxes
from talkingface.errors import KitError, MediaError
from talkingface.faces import crop_box
from talkingface.preprocess import Job, WorkResult

IDENTITY_RULES = ("top", "parent", "stem")


@dataclass(frozen=True)
class Settings:
    """What decides the outputs (the CLI's flags); see ``python -m dagan.preprocess --help``."""

    input_dir: str
    landmarks: str = "offline"
    device: str = "cpu"
    size: int = 256
    format: str = "mp4"
    min_frames: int = 64
    max_frames: int | None = None
    min_size: int = 0
    detect_every: int = 1
    increase: float = 0.1
    iou_with_initial: float = 0.25
    identity_from: str = "top"
    identities: dict[str, str] | None = None      # from an --identity_from CSV: video (relative path or stem) -> id
    test_fraction: float = 0.1
    test_ids: tuple[str, ...] | None = None
    seed: int = 0


def _clean(text: str) -> str:
    return text.replace("#", "_").replace(os.sep, "_").replace("/", "_").strip() or "_"


def identity_and_video(rel: PurePath, settings: Settings) -> tuple[str, str]:
    """(identity, video part of the clip names) of the video at ``rel`` (relative to the input root)."""
    parts = list(rel.with_suffix("").parts)
    rule, drop = settings.identity_from, None
    if settings.identities is not None:
        ident = settings.identities.get(rel.as_posix(), settings.identities.get(rel.with_suffix("").as_posix(),
                                                                                settings.identities.get(rel.stem)))
        if ident is None:
            raise KitError(f"{rel.as_posix()}: not in the --identity_from CSV")
    elif rule == "top" and len(parts) > 1:
        ident, drop = parts[0], 0
    elif rule == "parent" and len(parts) > 1:
        ident, drop = parts[-2], len(parts) - 2
    else:                                              # stem, or a video directly in the input root
        ident = parts[-1]
    video = "_".join(p for n, p in enumerate(parts) if n != drop)
    return _clean(str(ident)), _clean(video)


def split_of(identity: str, settings: Settings) -> str:
    """``test`` or ``train`` for an identity: listed test ids, else a seeded hash of the identity."""
    if settings.test_ids is not None:
        return "test" if identity in settings.test_ids else "train"
    digest = hashlib.sha256(f"{settings.seed}:{identity}".encode()).hexdigest()
    return "test" if int(digest[:15], 16) / 16 ** 15 < settings.test_fraction else "train"


def _resized(crop: np.ndarray, size: int) -> np.ndarray:
    import cv2

    shrink = crop.shape[0] > size
    return cv2.resize(np.ascontiguousarray(crop), (size, size),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


class _PngFolder:
    """A frame folder as FOMM reads it: ``0000000.png``, ``0000001.png``, ..."""

    def __init__(self, path: Path):
        self.path, self.frame_count = path, 0
        path.mkdir(parents=True)

    def write(self, frame: np.ndarray) -> None:
        import cv2

        if not cv2.imwrite(str(self.path / f"{self.frame_count:07d}.png"), frame[..., ::-1]):
            raise MediaError(f"{self.path}: cannot write frame {self.frame_count}")
        self.frame_count += 1

    def close(self) -> Path:
        return self.path

    def abort(self) -> None:
        pass


class PrepWork:
    """``work(job, scratch) -> WorkResult`` for :func:`talkingface.preprocess.run_jobs` (see the module
    docstring). Picklable; the landmark backend is built on first use, once per process."""

    def __init__(self, settings: Settings, backend=None):
        self.settings, self._backend = settings, backend

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings, "_backend": None}

    def backend(self):
        if self._backend is None:
            from talkingface.landmarks import make_backend

            self._backend = make_backend(self.settings.landmarks, device=self.settings.device)
        return self._backend

    def find_tracks(self, reader) -> tuple[TrackBuilder, int]:
        """First pass: faces in every ``detect_every``-th frame and the last one -> (tracks, frames decoded)."""
        s, backend = self.settings, self.backend()
        builder = TrackBuilder((reader.height, reader.width), s.iou_with_initial, s.max_frames)
        count, last = 0, None
        for i, frame in enumerate(reader):
            count, last = i + 1, frame
            if i % s.detect_every == 0:
                builder.add(i, face_boxes(backend, frame))
                last = None
        if last is not None:
            builder.add(count - 1, face_boxes(backend, last))
        builder.finish()
        return builder, count

    def keep(self, track: Track, shape) -> str | None:
        """Why ``track`` is dropped, or None when it is kept (its ``crop`` set)."""
        s = self.settings
        if track.frames < s.min_frames:
            return f"shorter than min_frames {s.min_frames}"
        width, height = track.union[2] - track.union[0], track.union[3] - track.union[1]
        if max(width, height) < s.min_size:
            return f"face smaller than min_size {s.min_size} px"
        track.crop = crop_box(track.union, shape, s.increase)
        c, u = track.crop, track.union
        if not (c[0] <= u[0] and c[1] <= u[1] and u[2] <= c[2] and u[3] <= c[3]):
            return "the crop cannot hold the face (wider than the frame's shorter side allows, or --increase 0)"
        return None

    def write_tracks(self, reader, kept: list[tuple[str, Track]], scratch: Path) -> dict[str, Path]:
        """Second pass: each kept track's crops, resized, into ``scratch/<name>`` -> {name: path}."""
        from talkingface.media import VideoWriter

        s, files, writers = self.settings, {}, {}
        starts: dict[int, list] = {}
        for name, track in kept:
            starts.setdefault(track.start, []).append((name, track))
        stop = max((t.end for _, t in kept), default=0)
        frames, count = iter(reader), 0
        try:
            for i, frame in enumerate(frames):
                count = i + 1
                if i >= stop:
                    break
                for name, track in starts.get(i, []):
                    path = scratch / name
                    writers[name] = (_PngFolder(path) if s.format == "png"
                                     else VideoWriter(path, reader.fps, preset="fast"), track)
                for name, (writer, track) in list(writers.items()):
                    left, top, right, bot = track.crop
                    writer.write(_resized(frame[top:bot, left:right], s.size))
                    if i + 1 == track.end:
                        files[name] = writer.close()
                        del writers[name]
            if writers or len(files) < len(kept):
                raise MediaError(f"{reader.path}: decoded {count} frames the second time, fewer than "
                                 f"the first")
        finally:
            frames.close()
            for writer, _ in writers.values():
                writer.abort()
        return files

    def __call__(self, job: Job, scratch: Path) -> WorkResult:
        from talkingface.media import VideoReader

        s = self.settings
        try:
            rel = job.path.relative_to(s.input_dir)
        except ValueError:                            # a path given another way: the job's id is that path
            rel = PurePath(job.id.replace("#", "/") + job.path.suffix)
        identity, video = identity_and_video(rel, s)
        split = split_of(identity, s)
        reader = VideoReader(job.path)                # MediaError: corrupt, empty, audio only
        builder, count = self.find_tracks(reader)
        if count == 0:
            raise MediaError(f"{job.path}: no frame could be decoded")
        shape = (reader.height, reader.width)
        kept, dropped, names = [], {}, set()
        for track in builder.tracks:
            why = self.keep(track, shape)
            if why is not None:
                dropped[why] = dropped.get(why, 0) + 1
                continue
            name, k = f"{identity}#{video}#{track.start:06d}#{track.end - 1:06d}", 1
            while (name if k == 1 else f"{name}#{k}") in names:
                k += 1
            name = name if k == 1 else f"{name}#{k}"
            names.add(name)
            kept.append((name + ".mp4", track))       # frame folders are named .mp4 too, as FOMM globs them
        files = self.write_tracks(reader, kept, scratch) if kept else {}
        steps = sum(t.motion[1] for _, t in kept)
        covered, reach = 0, 0                          # frames in at least one kept clip
        for start, end in sorted((t.start, t.end) for _, t in kept):
            covered, reach = covered + max(0, end - max(start, reach)), max(reach, end)
        ended: dict[str, int] = {}
        for track in builder.tracks:
            ended[track.ended] = ended.get(track.ended, 0) + 1
        stats = {"identity": identity, "split": split, "frames": count, "fps": round(float(reader.fps), 3),
                 "duration": round(float(reader.duration), 3), "size": [reader.width, reader.height],
                 "landmarks": self.backend().name, "faces": dict(builder.counts),
                 "frames_in_no_clip": count - covered, "tracks_kept": len(kept), "tracks_dropped": dropped,
                 "tracks_ended": ended,
                 "jitter": round(sum(t.motion[0] for _, t in kept) / steps, 5) if steps else None,
                 "jitter_max": max((round(t.jitter, 5) for _, t in kept if t.jitter is not None), default=None),
                 "clips": [{"name": name, "start": t.start, "end": t.end - 1, "frames": t.frames,
                            "crop": list(t.crop), "union": [round(v, 1) for v in t.union], "ended": t.ended,
                            "jitter": None if t.jitter is None else round(t.jitter, 5)} for name, t in kept]}
        if not kept:
            stats["reason"] = ("no face found" if builder.counts["no_face"] == builder.counts["detected"]
                               else "no face track kept: " + ", ".join(f"{n} {w}" for w, n in dropped.items()))
        return WorkResult({f"{split}/{name}": path for name, path in files.items()}, stats)
