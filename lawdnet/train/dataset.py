"""LawDNet/DINet training datasets: frame-stage and clip-stage items from the authors' training JSON.

    data = FrameDataset("asserts/training_data/training_json/training_json.json", mouth_size=64, augment_num=32)
    data.set_epoch(epoch)                 # before each epoch's DataLoader pass
    item = data[i]   # {"source": (3, H, W), "references": (15, H, W), "audio": (29, 5), "video": name}
    clips = ClipDataset(json_path, mouth_size=288, augment_num=3)
    item = clips[i]  # {"source": (5, 3, H, W), "references": (5, 15, H, W), "audio": (5, 29, 5),
                     #  "audio_full": (29, 9), "video": name}

As the authors' ``dataset/dataset_DINet_frame.py`` / ``dataset_DINet_clip.py`` (LawDNet_2024 @ 76a14bb): item i is
video ``i % videos`` (their list of every video name ``augment_num`` times, so ``len = videos x augment_num``; its
``random.shuffle`` is left out: the sampler shuffles); the draws are :mod:`lawdnet.train.sampling`'s. A frame is
read with OpenCV (``cv2.imread``'s decoder), flipped BGR -> RGB, divided by 255.0 (float64) and, when it is not
already (H, W) = ``lawdnet.config.crop_size(mouth_size)`` (416 x 320 for 256, 468 x 360 for 288), resized with
``cv2.resize(image, (W, H))`` (bilinear, ``INTER_LINEAR``, on the float64 image), then made float32: RGB in [0, 1],
channels first, references stacked along channels (5 x RGB). ``audio`` is the generator's feature rows (``features``:
``dp2`` = ``deep_speech_dp2_list``, LawDNet's generator; ``dp1`` = ``deep_speech_list``, DINet's) of each source
frame's window, (29, 5); the clip stage's ``audio_full`` is the 9 ``sync_features`` rows (``dp1`` as theirs: their
SyncNet reads ``deep_speech_list``) of the source clip, (29, 9). The mouth is NOT masked here: their training scripts
apply ``SmoothSqMask`` to the source on the GPU (the kit's :func:`lawdnet.mouth_mask.mask_mouth`).

Differences, on purpose:

* **Randomness** comes from ``numpy.random.default_rng([seed, epoch, index])``, not the global ``random``: an item is
  the same whatever the DataLoader's worker count, and after a resume (call ``set_epoch`` before each epoch).
  ``item(index, draws)`` builds an item from given draws (tests replay the authors' draws with it).
* **Bad data is left out when the dataset is built**, not answered with a zero sample and ``flag`` 0 that makes the
  training loop skip the whole batch: a clip whose frame list is not 9 paths, whose frames are missing, or whose
  feature rows (each key used) are fewer than its frames or not 29 wide; then a video with fewer than 6 usable clips
  (the authors' zero sample). ``skipped`` lists [(name, why)], one warning names them; nothing left -> ConfigError
  naming the JSON; a frame that does not decode at read time -> MediaError naming the file. Draws index the video's
  usable clips. Feature rows beyond a clip's frames are not used (``audio_full`` is its first 9 rows).
* Every array is float32 (their ``deep_speech_full`` is float64; their training casts it with ``.float()``); only the
  keys the stage's training reads are returned (their frame stage returns dp1 and dp2 windows and reads dp2).
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lawdnet.config import crop_size
from lawdnet.prep.training_json import KEYS
from lawdnet.train.sampling import (
    CLIP_FRAMES,
    MIN_CLIPS,
    SOURCE_FRAMES,
    ClipDraws,
    FrameDraws,
    draw_clip,
    draw_frame,
    window,
)
from talkingface.errors import ConfigError, MediaError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainClip:
    """One usable clip: its 9 frame paths and 9 feature rows per kind used ({"dp1"|"dp2": (9, 29) float32})."""

    frames: tuple[Path, ...]
    rows: dict[str, np.ndarray]


@dataclass(frozen=True)
class TrainVideo:
    """One video of the JSON with its usable clips (in JSON order)."""

    name: str
    clips: tuple[TrainClip, ...]


def _clip(entry: Any, kinds: tuple[str, ...], root: Path, listings: dict[Path, set[str]]) -> TrainClip | str:
    """The clip of one ``clip_data_list`` entry, or why it is left out."""
    if not isinstance(entry, dict) or not isinstance(entry.get("frame_path_list"), list):
        return "no frame_path_list"
    paths = entry["frame_path_list"]
    if len(paths) != CLIP_FRAMES or not all(isinstance(p, str) for p in paths):
        return f"frame_path_list has {len(paths)} entries, not {CLIP_FRAMES} paths"
    frames = tuple(root / p for p in paths)
    for frame in frames:
        folder = frame.parent
        if folder not in listings:
            try:
                listings[folder] = {e.name for e in os.scandir(folder) if e.is_file()}
            except OSError:
                listings[folder] = set()
        if frame.name not in listings[folder]:
            return f"frame {frame} missing"
    rows = {}
    for kind in kinds:
        key = KEYS[kind]
        try:
            values = np.asarray(entry[key], dtype=np.float64)
        except KeyError:
            return f"no {key} ({kind} features)"
        except (TypeError, ValueError):
            return f"{key} is not a list of rows of 29 numbers"
        if values.ndim != 2 or values.shape[1] != 29:
            return f"{key} is not a list of rows of 29 numbers (shape {values.shape})"
        if len(values) < CLIP_FRAMES:
            return f"{key} has {len(values)} rows, fewer than the clip's {CLIP_FRAMES} frames"
        rows[kind] = values[:CLIP_FRAMES].astype(np.float32)
    return TrainClip(frames, rows)


def load_index(json_path: str | os.PathLike[str], kinds: tuple[str, ...],
               frames_root: str | os.PathLike[str] | None = None
               ) -> tuple[list[TrainVideo], list[tuple[str, str]]]:
    """(usable videos in JSON order, [(video or video#clip, why left out)]) of a training JSON; ConfigError when it
    cannot be read or nothing is usable. Relative frame paths are taken from ``frames_root`` (default the current
    folder when the dataset is built, as the authors open them)."""
    path = Path(json_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such training JSON (python -m lawdnet.preprocess --generate_training_json "
                          "writes it)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable training JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a training JSON (expected {{video: {{'clip_data_list': [...]}}}}, "
                          f"got a {type(data).__name__})")
    root = Path(frames_root) if frames_root is not None else Path.cwd()
    videos, skipped, listings = [], [], {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("clip_data_list"), list):
            skipped.append((name, "no clip_data_list"))
            continue
        clips = []
        for k, clip_entry in enumerate(entry["clip_data_list"]):
            clip = _clip(clip_entry, kinds, root, listings)
            if isinstance(clip, str):
                skipped.append((f"{name}#clip{k}", clip))
            else:
                clips.append(clip)
        if len(clips) < MIN_CLIPS:
            skipped.append((name, f"{len(clips)} usable clips, fewer than {MIN_CLIPS} (a sample draws 6 distinct)"))
            continue
        videos.append(TrainVideo(str(name), tuple(clips)))
    if skipped:
        shown = "; ".join(f"{n} ({why})" for n, why in skipped[:5])
        log.warning("%s: left out %d entr%s: %s%s", path, len(skipped), "y" if len(skipped) == 1 else "ies",
                    shown, " ..." if len(skipped) > 5 else "")
    if not videos:
        why = f" ({len(skipped)} left out, e.g. {skipped[0][0]}: {skipped[0][1]})" if skipped else " (it is empty)"
        raise ConfigError(f"{path}: no usable video (needs {MIN_CLIPS}+ clips of {CLIP_FRAMES} frames with features "
                          f"{', '.join(KEYS[k] for k in kinds)}){why}")
    return videos, skipped


def read_frame(path: Path, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1] of one crop at ``size`` = (H, W), as the authors' ``preprocess_image``."""
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise MediaError(f"{path}: cannot read the frame ({exc.strerror or exc})") from None
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise MediaError(f"{path}: not a decodable image (corrupt or truncated frame)")
    image = bgr[:, :, ::-1] / 255.0
    if image.shape[:2] != size:
        image = cv2.resize(image, (size[1], size[0]))
    return image.astype(np.float32)


def _kind(value: str, what: str) -> str:
    if value not in KEYS:
        raise ConfigError(f"{what} must be one of {sorted(KEYS)}, got {value!r}")
    return value


class _TrainingData:
    """What both stages share: the index, length, epoch and (seed, epoch, index) generator."""

    def __init__(self, json_path: str | os.PathLike[str], mouth_size: int, augment_num: int, seed: int,
                 features: str, kinds: tuple[str, ...], frames_root: str | os.PathLike[str] | None):
        try:
            self.size = crop_size(int(mouth_size))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if int(augment_num) < 1:
            raise ConfigError(f"augment_num must be >= 1, got {augment_num}")
        self.json_path, self.mouth_size, self.augment_num = Path(json_path), int(mouth_size), int(augment_num)
        self.seed, self.features, self.epoch = int(seed), features, 0
        self.videos, self.skipped = load_index(json_path, kinds, frames_root)

    def __len__(self) -> int:
        return len(self.videos) * self.augment_num

    def set_epoch(self, epoch: int) -> None:
        """Draws of the coming epoch (call before each epoch, in the main process before the workers start)."""
        self.epoch = int(epoch)

    def rng(self, index: int) -> np.random.Generator:
        """The generator of item ``index``'s draws in the current epoch."""
        return np.random.default_rng([self.seed, self.epoch, int(index)])

    def video(self, index: int) -> TrainVideo:
        """The video item ``index`` samples."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        return self.videos[index % len(self.videos)]

    def _frame(self, clip: TrainClip, frame: int) -> np.ndarray:
        return read_frame(clip.frames[frame], self.size).transpose(2, 0, 1)

    def _references(self, video: TrainVideo, anchors: tuple[int, ...], frames: tuple[int, ...]) -> np.ndarray:
        return np.concatenate([self._frame(video.clips[a], f) for a, f in zip(anchors, frames, strict=True)])

    def _window(self, clip: TrainClip, frame: int) -> np.ndarray:
        return np.ascontiguousarray(clip.rows[self.features][window(frame)].T)


class FrameDataset(_TrainingData):
    """Frame-stage items (one source frame, 5 references from 5 other clips, its audio window); see the module doc.

    Attributes: ``videos`` (the usable index), ``skipped`` ([(name, why)] left out), ``size`` (H, W), ``epoch``.
    """

    def __init__(self, json_path: str | os.PathLike[str], mouth_size: int, augment_num: int, seed: int = 0,
                 features: str = "dp2", frames_root: str | os.PathLike[str] | None = None):
        features = _kind(features, "features")
        super().__init__(json_path, mouth_size, augment_num, seed, features, (features,), frames_root)

    def draws(self, index: int) -> FrameDraws:
        """Item ``index``'s draws in the current epoch."""
        return draw_frame(self.rng(index), len(self.video(index).clips))

    def item(self, index: int, draws: FrameDraws) -> dict[str, Any]:
        """Item ``index`` built from ``draws`` (ValueError when they break the frame-stage rules)."""
        video = self.video(index)
        draws.check(len(video.clips))
        source = video.clips[draws.source_clip]
        return {"source": self._frame(source, draws.source_frame),
                "references": self._references(video, draws.reference_clips, draws.reference_frames),
                "audio": self._window(source, draws.source_frame), "video": video.name}

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.item(index, self.draws(index))


class ClipDataset(_TrainingData):
    """Clip-stage items (frames 2 … 6 of one clip, a reference set each, their windows, the clip's 9 sync rows).

    Attributes as :class:`FrameDataset`; ``sync_features`` (the rows of ``audio_full``).
    """

    def __init__(self, json_path: str | os.PathLike[str], mouth_size: int, augment_num: int, seed: int = 0,
                 features: str = "dp2", sync_features: str = "dp1",
                 frames_root: str | os.PathLike[str] | None = None):
        features = _kind(features, "features")
        self.sync_features = _kind(sync_features, "sync_features")
        kinds = tuple(dict.fromkeys((features, self.sync_features)))
        super().__init__(json_path, mouth_size, augment_num, seed, features, kinds, frames_root)

    def draws(self, index: int) -> ClipDraws:
        """Item ``index``'s draws in the current epoch."""
        return draw_clip(self.rng(index), len(self.video(index).clips))

    def item(self, index: int, draws: ClipDraws) -> dict[str, Any]:
        """Item ``index`` built from ``draws`` (ValueError when they break the clip-stage rules)."""
        video = self.video(index)
        draws.check(len(video.clips))
        source = video.clips[draws.source_clip]
        return {"source": np.stack([self._frame(source, f) for f in SOURCE_FRAMES]),
                "references": np.stack([self._references(video, a, f) for a, f in
                                        zip(draws.reference_clips, draws.reference_frames, strict=True)]),
                "audio": np.stack([self._window(source, f) for f in SOURCE_FRAMES]),
                "audio_full": np.ascontiguousarray(source.rows[self.sync_features].T), "video": video.name}

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.item(index, self.draws(index))
