"""DaGAN's face crop: the settings, the source's crop, one pass over the driving video for its box, paste-back.

    crop = FaceCrop("auto", paste_back=True, backend=make_backend("offline"))
    source = frame_source(image, "face.png", crop)          # KitError naming the file when no face is found
    scan = scan_driving(reader, crop, source_points=source.points)   # box of the clip (+ best frame), one pass

The crop rule is VoxCeleb's (:mod:`talkingface.faces`, docs/face_crop.md): the source's face box, or the union of
the driving clip's face boxes, enlarged to a square 1.2 times its longer side, moved inside the frame. The model
then sees the crops; the output is the 256x256 animation, or with ``paste_back`` the source image with the animated
crop resized into its box and feathered in.

**One pass.** The driving box needs every frame's face box (every ``every``-th frame's when told so: the authors'
scripts look at every frame). When the best-frame search is on too, the same pass does both: landmarks normalised
as the authors' demo does (centred, divided by the square root of their hull's area) do not change with a
translation and a uniform scale, which is all a square crop resized to 256x256 does — so scoring the uncropped
frames picks the frame the demo would pick on the cropped ones (the detector itself sees the whole frame). The
pixels of the anchor frame (the best one, or a ``--best_frame`` given) are kept, so the animation is the only
other pass.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from talkingface.errors import KitError
from talkingface.faces import (
    DETECT_SIDE,
    FEATHER,
    INCREASE,
    MAX_SIDE,
    Tube,
    crop,
    crop_box,
    find_face,
    find_faces,
    limit_size,
    reduce_to,
    warn_if_tiny,
)

log = logging.getLogger(__name__)

CROP_MODES = ("none", "auto")


@dataclass
class FaceCrop:
    """How sources and driving frames are framed: ``mode`` ``"none"`` (as given, the authors' demo) or ``"auto"``
    (found and cropped the VoxCeleb way by ``backend``); ``paste_back`` puts the animation back into the source
    image; ``every``: the driving box looks at every ``every``-th frame (all of them when the best frame is
    searched, or the backend answers by frame number)."""

    mode: str = "none"
    paste_back: bool = False
    every: int = 1
    backend: Any = None

    def __post_init__(self):
        if self.mode not in CROP_MODES:
            raise KitError(f"--crop {self.mode}: choose one of {', '.join(CROP_MODES)}")
        if self.paste_back and self.mode != "auto":
            raise KitError("--paste_back needs --crop auto (it pastes the animated crop back where it was cut)")
        if int(self.every) < 1:
            raise KitError(f"--crop_every must be at least 1, got {self.every}")
        if self.mode == "auto" and self.backend is None:
            raise ValueError("FaceCrop('auto') needs a landmark backend")

    @property
    def auto(self) -> bool:
        return self.mode == "auto"

    def settings(self) -> dict[str, Any]:
        """What decides the outputs (for records and the generated folder's maker)."""
        if not self.auto:
            return {"crop": "none"}
        return {"crop": "auto", "paste_back": bool(self.paste_back), "crop_every": int(self.every),
                "landmarks": self.backend.name, "increase": INCREASE, "fit": "square moved inside the frame",
                "detect_side": DETECT_SIDE, "max_side": MAX_SIDE, "feather": FEATHER if self.paste_back else None}


@dataclass
class SourceFrame:
    """The source as the model gets it: ``image`` (reduced when huge), its crop ``box`` (None: the whole image)
    and the face's landmarks in ``image`` pixels (None without a crop)."""

    image: np.ndarray
    name: str
    box: tuple | None = None
    points: np.ndarray | None = None

    @property
    def model_input(self) -> np.ndarray:
        return self.image if self.box is None else crop(self.image, self.box)


def frame_source(image: np.ndarray, name: str, face_crop: FaceCrop | None = None) -> SourceFrame:
    """``image`` reduced when huge (warned about when tiny) and, with ``--crop auto``, its face's crop box;
    KitError naming ``name`` when no face is found."""
    image = limit_size(np.asarray(image), name)
    if face_crop is None or not face_crop.auto:
        return SourceFrame(image, name)
    face = find_face(face_crop.backend, image)
    if face is None:
        raise KitError(f"{name}: no face found by the {face_crop.backend.name} face detector (--crop auto); crop "
                       f"the image to the face yourself and use --crop none, or try another --landmarks backend")
    left, top, right, bot = face.box
    warn_if_tiny(max(right - left, bot - top), name, "face")
    box = crop_box(face.box, image.shape)
    log.info("%s: face crop %d,%d-%d,%d (%d px square) of %dx%d", name, *box, box[2] - box[0], image.shape[1],
             image.shape[0])
    return SourceFrame(image, name, box, face.points)


@dataclass
class DrivingScan:
    box: tuple                                   # the clip's crop box in its frames
    best: tuple[int, np.ndarray] | None = None   # (index, pixels) of the best frame, when searched and found
    kept: np.ndarray | None = None               # pixels of frame ``keep``


def scan_driving(reader, face_crop: FaceCrop, source_points: np.ndarray | None = None, keep: int | None = None,
                 progress: bool = False) -> DrivingScan:
    """One decoding pass over ``reader``: the clip's crop box (the union of its face boxes, VoxCeleb's rule), the
    best frame for ``source_points`` when given (the authors' rule, see the module docstring) and the pixels of
    frame ``keep``. KitError naming the video when no frame has a face."""
    from tqdm import tqdm

    from talkingface.landmarks import normalize_landmarks

    backend = face_crop.backend
    ref = normalize_landmarks(source_points) if source_points is not None else None
    every = 1 if source_points is not None or backend.frame_indexed else int(face_crop.every)
    order: list[tuple[int, np.ndarray | None]] = []    # frames handed to the detector, not yet answered
    kept: list[np.ndarray] = []

    def frames():
        for i, frame in enumerate(reader):
            if i == keep:
                kept.append(frame)
            if i % every == 0:
                order.append((i, frame if ref is not None else None))
                yield frame
            bar.update(1)

    tube, best, best_norm = Tube(), None, np.inf
    bar = tqdm(total=reader.frame_count, unit="frame", desc="face crop", disable=not progress, leave=False)
    with contextlib.closing(bar):
        for face in find_faces(backend, frames()):
            i, frame = order.pop(0)
            if face is None:
                continue
            tube.add(face.box)
            norm_points = normalize_landmarks(face.points) if ref is not None else None
            if norm_points is not None:
                norm = float(((ref - norm_points) ** 2).sum())
                if norm < best_norm:
                    best, best_norm = (i, frame), norm
    if tube.union is None:
        raise KitError(f"{reader.path}: no face found in any driving frame by the {backend.name} face detector "
                       f"(--crop auto); crop the video to the face yourself and use --crop none")
    if tube.far:
        log.warning("%s: in %d of %d frames the face is far from where it starts (IoU < %.2f): the authors' crop "
                    "scripts would cut the clip there; this crop covers the whole track, so the face is smaller in "
                    "it than in VoxCeleb crops", reader.path, tube.far, tube.boxes, tube.iou_with_initial)
    left, top, right, bot = tube.union
    warn_if_tiny(max(right - left, bot - top), str(reader.path), "face")
    box = crop_box(tube.union, (reader.height, reader.width))
    log.info("%s: face crop %d,%d-%d,%d (%d px square) of %dx%d, from %d face boxes", reader.path, *box,
             box[2] - box[0], reader.width, reader.height, tube.boxes)
    return DrivingScan(box, best, kept[0] if kept else None)


def model_frames(chunks, box: tuple | None = None, max_side: int = MAX_SIDE):
    """Driving chunks as the model gets them: cropped to ``box`` (when given), each frame reduced to a longest side
    of ``max_side`` when larger."""
    for chunk in chunks:
        chunk = crop(chunk, box) if box is not None else chunk
        if max(chunk.shape[1:3]) > max_side:
            chunk = np.stack([reduce_to(frame, max_side)[0] for frame in chunk])
        yield chunk


def model_frame(frame: np.ndarray, box: tuple | None = None) -> np.ndarray:
    """One driving frame as the model gets it (see :func:`model_frames`)."""
    return next(model_frames([np.asarray(frame)[None]], box))[0]
