"""DaGAN training data: (source, driving) frame pairs of one clip from ``root/{train,test}/<id>#<video>#...mp4``.

    data = FramesDataset("data/vox", split="train", augmentation=AugmentationParams.vox_adv_256(), seed=0)
    data = DatasetRepeater(data, 75); data.set_epoch(epoch)              # before each epoch's DataLoader pass
    item = data[i]        # {"source": (3, H, W) float32 in [0, 1], "driving": ..., "name": "id10001#abc#0#99.mp4"}
    held_out = EvalPairs("data/vox", split="test", pairs=64, seed=0)     # fixed pairs, no augmentation

As the authors' ``FramesDataset`` (FOMM's) for training: with ``id_sampling`` an item is an identity (the name's
prefix before ``#``) and one of its clips is drawn, else an item is a clip; two frame indices are drawn with
replacement and sorted (source = first, driving = second); then the augmentation (:mod:`dagan.train.augment`).
A clip is an ``.mp4`` (any video extension) or a folder of frame images (PNG), as ``dagan preprocess`` writes them.

Differences, on purpose:

* **Randomness** comes from ``numpy.random.default_rng([seed, epoch, index])``, not the global ``np.random``: an
  item is the same whatever the DataLoader's worker count, and after a resume (call ``set_epoch`` before each
  epoch; with ``persistent_workers=True`` the workers would keep the epoch they were started with).
* **A predefined split** ``root/train`` + ``root/test`` is required. The authors' fallback (sklearn's
  ``train_test_split`` of the clips) puts clips of one identity on both sides; ``dagan preprocess`` splits by
  identity. An identity is matched as ``<id>#`` (the authors' glob ``<id>*.mp4`` also takes ``id1`` for ``id10``).
* **Frame folders** are read in name order, one frame per file, each error raised (the authors list them unsorted,
  call ``str.decode`` and print-and-skip the failure). Bad input: clips with fewer than two frames, or that cannot
  be probed, are left out when the index is built (``skipped``, and one warning naming them); nothing left ->
  ConfigError; a corrupt frame at read time -> MediaError naming the file; a frame whose size is not
  ``frame_shape`` -> MediaError (frames are not resized: the authors assume them at that size, preprocess writes it).
* **Reading** an mp4 never decodes the whole clip: the packet index (demuxed, not decoded) maps frame i to its pts;
  each wanted frame is decoded from the nearest key frame before it, and only the wanted frames are converted to
  RGB (``talkingface.media``'s ``rgb24`` conversion). Frame counts at index time come from the container's index
  (:func:`talkingface.media.probe`), no decoding.
"""
from __future__ import annotations

import bisect
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from dagan.train.augment import AugmentationParams, augment, to_float32
from talkingface.errors import ConfigError, MediaError
from talkingface.media import is_image, is_video, probe, read_image
from talkingface.media.probe import open_container

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Clip:
    """One clip of the index: its path, frame count, and whether it is a folder of frame images."""

    path: Path
    frames: int
    folder: bool

    @property
    def identity(self) -> str:
        return self.path.name.split("#")[0]


def _frame_names(folder: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if not e.name.startswith(".") and is_image(e.name))


def _size_error(where: Path, got: tuple[int, ...], shape: tuple[int, int, int]) -> MediaError:
    return MediaError(f"{where}: frames are {got[1]}x{got[0]}, not the dataset's frame_shape {shape[1]}x{shape[0]} "
                      f"(resize the data: dagan preprocess --size {shape[1]})")


def scan_clips(root: str | os.PathLike[str], split: str,
               frame_shape: tuple[int, int, int]) -> tuple[list[Clip], list[tuple[str, str]]]:
    """(usable clips of ``root/split`` in name order, [(name, why left out)]); ConfigError without a usable one."""
    root = Path(root)
    if split not in ("train", "test"):
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    if not root.is_dir():
        raise ConfigError(f"{root}: no such data folder" if not root.exists() else f"{root}: not a folder")
    if not (root / "train").is_dir() or not (root / "test").is_dir():
        raise ConfigError(f"{root}: needs train/ and test/ folders of <id>#<video>#<start>#<end>.mp4 clips "
                          "(python -m dagan.preprocess writes them)")
    clips, skipped = [], []
    for entry in sorted(os.scandir(root / split), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            count = len(_frame_names(path))
        elif is_video(entry.name):
            try:
                info = probe(path)
            except MediaError as exc:
                skipped.append((entry.name, str(exc).removeprefix(f"{path}: ")))
                continue
            count = info.frame_count if info.has_video else 0
            if count >= 2 and (info.height, info.width) != tuple(frame_shape[:2]):
                raise _size_error(path, (info.height, info.width), frame_shape)
        else:
            skipped.append((entry.name, "neither a video nor a folder of frames"))
            continue
        if count < 2:
            skipped.append((entry.name, f"{count} frame{'s' if count != 1 else ''}, a pair needs 2"))
            continue
        clips.append(Clip(path, count, entry.is_dir()))
    if skipped:
        shown = "; ".join(f"{name} ({why})" for name, why in skipped[:5])
        log.warning("%s: left out %d entr%s: %s%s", root / split, len(skipped), "y" if len(skipped) == 1 else "ies",
                    shown, " ..." if len(skipped) > 5 else "")
    if not clips:
        why = f" ({len(skipped)} left out, e.g. {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
        raise ConfigError(f"{root / split}: no usable clips (videos or frame folders of 2+ frames){why}")
    return clips, skipped


def _read_folder(clip: Clip, indices: Sequence[int]) -> list[np.ndarray]:
    names = _frame_names(clip.path)
    if max(indices) >= len(names):
        raise MediaError(f"{clip.path}: holds {len(names)} frames, fewer than the {clip.frames} indexed "
                         "(frames removed since the dataset was built?)")
    return [read_image(clip.path / names[i]) for i in indices]


def _packet_index(container, stream, path: Path) -> tuple[list[int], list[int]]:
    """(pts of every frame in presentation order, pts of the key frames, sorted), from demuxing only."""
    frames, keys = [], []
    for packet in container.demux(stream):
        if packet.size:
            if packet.pts is None:
                raise MediaError(f"{path}: packets without timestamps (remux it to mp4: dagan preprocess)")
            frames.append(packet.pts)
            if packet.is_keyframe:
                keys.append(packet.pts)
    return sorted(frames), sorted(keys)


def _read_video(clip: Clip, indices: Sequence[int]) -> list[np.ndarray]:
    """Frames ``indices`` of an mp4: each decoded from the key frame before it (one pass when that is shorter)."""
    path, got, index = clip.path, {}, indices[0]
    container = open_container(path)
    try:
        stream = container.streams.video[0]
        frame_pts, keys = _packet_index(container, stream, path)
        if max(indices) >= len(frame_pts):
            raise MediaError(f"{path}: holds {len(frame_pts)} frames, fewer than the {clip.frames} indexed "
                             "(truncated or replaced since the dataset was built?)")
        if not keys or keys[0] > frame_pts[0]:
            keys = [frame_pts[0], *keys]
        decoded, last = None, None
        for index in sorted(set(indices)):
            target = frame_pts[index]
            key = keys[bisect.bisect_right(keys, target) - 1]
            if decoded is None or last is None or last >= target or key > last:
                container.seek(key, stream=stream, backward=True, any_frame=False)
                decoded = container.decode(stream)
            for frame in decoded:
                last = frame.pts
                if last is not None and last >= target:
                    break
            else:
                last = None
            if last != target:
                raise MediaError(f"{path}: frame {index} (pts {target}) does not decode (corrupt or truncated file)")
            got[index] = frame.to_ndarray(format="rgb24")
    except av.FFmpegError as exc:
        raise MediaError(f"{path}: corrupt video, frame {index} does not decode ({exc})") from None
    finally:
        container.close()
    return [got[i] for i in indices]


def read_frames(clip: Clip, indices: Sequence[int], frame_shape: tuple[int, int, int]) -> np.ndarray:
    """(len(indices), H, W, 3) uint8 frames of ``clip``; MediaError naming the file when one is corrupt or of
    another size than ``frame_shape``."""
    frames = (_read_folder if clip.folder else _read_video)(clip, indices)
    for i, frame in zip(indices, frames, strict=True):
        if frame.shape != tuple(frame_shape):
            where = clip.path / _frame_names(clip.path)[i] if clip.folder else clip.path
            raise _size_error(where, frame.shape, frame_shape)
    return np.stack(frames)


def _pair(frames: np.ndarray, name: str, params: AugmentationParams | None, rng) -> dict[str, Any]:
    pair = augment(frames, params, rng) if params is not None else to_float32(frames, jittered=False)
    return {"source": np.ascontiguousarray(pair[0].transpose(2, 0, 1)),
            "driving": np.ascontiguousarray(pair[1].transpose(2, 0, 1)), "name": name}


def _frame_shape(frame_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(v) for v in frame_shape)
    if len(shape) != 3 or shape[2] != 3 or min(shape) < 1:
        raise ConfigError(f"frame_shape must be [height, width, 3], got {list(frame_shape)}")
    return shape


class FramesDataset:
    """Random (source, driving) pairs of ``root/split``, reproducible by (seed, epoch, index); see the module doc.

    Attributes: ``clips`` (the index, name order), ``items`` (identities or clip names), ``skipped`` ([(name,
    why)] left out), ``epoch``. ``dataset[i]`` for any i >= 0 samples item ``i % len(dataset)`` with the draws of
    (seed, epoch, i), which :class:`DatasetRepeater` relies on.
    """

    def __init__(self, root: str | os.PathLike[str], split: str = "train", id_sampling: bool = True,
                 frame_shape: Sequence[int] = (256, 256, 3),
                 augmentation: AugmentationParams | dict | None = None, seed: int = 0):
        self.root, self.split, self.id_sampling, self.seed = Path(root), split, bool(id_sampling), int(seed)
        self.frame_shape = _frame_shape(frame_shape)
        if isinstance(augmentation, dict):
            augmentation = AugmentationParams.from_dict(augmentation)
        self.augmentation: AugmentationParams | None = augmentation
        self.clips, self.skipped = scan_clips(self.root, split, self.frame_shape)
        self.epoch = 0
        if self.id_sampling:
            groups: dict[str, list[int]] = {}
            for i, clip in enumerate(self.clips):
                groups.setdefault(clip.identity, []).append(i)
            self.items = sorted(groups)
            self._members = [groups[name] for name in self.items]
        else:
            self.items = [clip.path.name for clip in self.clips]
            self._members = [[i] for i in range(len(self.clips))]

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """Draws of the coming epoch (call before each epoch, in the main process before the workers start)."""
        self.epoch = int(epoch)

    def rng(self, index: int) -> np.random.Generator:
        """The generator of item ``index``'s draws in the current epoch."""
        return np.random.default_rng([self.seed, self.epoch, int(index)])

    def __getitem__(self, index: int) -> dict[str, Any]:
        if index < 0:
            raise IndexError(f"index {index} < 0")
        rng = self.rng(index)
        members = self._members[index % len(self.items)]
        clip = self.clips[members[int(rng.integers(len(members)))]]
        indices = np.sort(rng.integers(0, clip.frames, size=2))
        frames = read_frames(clip, [int(i) for i in indices], self.frame_shape)
        return _pair(frames, clip.path.name, self.augmentation, rng)


class DatasetRepeater:
    """The authors' ``DatasetRepeater``: ``num_repeats`` passes over ``dataset`` per epoch, each with its own draws
    (index ``i`` is handed on as is: the dataset samples item ``i % len`` with the draws of ``i``)."""

    def __init__(self, dataset: FramesDataset, num_repeats: int = 100):
        if int(num_repeats) < 1:
            raise ConfigError(f"num_repeats must be >= 1, got {num_repeats}")
        self.dataset, self.num_repeats = dataset, int(num_repeats)

    def __len__(self) -> int:
        return self.num_repeats * len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        return self.dataset[index]


class EvalPairs:
    """Fixed held-out pairs for the loss-only evaluation: pair k = two different frames of one clip of
    ``root/split`` (clips taken in a seeded order, cycling), source first; no augmentation, same dict layout."""

    def __init__(self, root: str | os.PathLike[str], split: str = "test", pairs: int = 100, seed: int = 0,
                 frame_shape: Sequence[int] = (256, 256, 3)):
        self.frame_shape = _frame_shape(frame_shape)
        self.clips, self.skipped = scan_clips(root, split, self.frame_shape)
        order = np.random.default_rng([int(seed)]).permutation(len(self.clips))
        self.pairs: list[tuple[int, int, int]] = []
        for k in range(int(pairs)):
            clip = int(order[k % len(order)])
            source, driving = np.random.default_rng([int(seed), k]).choice(self.clips[clip].frames, 2, replace=False)
            self.pairs.append((clip, int(source), int(driving)))

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        clip, source, driving = self.pairs[index]
        frames = read_frames(self.clips[clip], [source, driving], self.frame_shape)
        return _pair(frames, self.clips[clip].path.name, None, None)
