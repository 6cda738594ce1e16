"""DaGAN on files and streams: read a source, find the best driving frame, animate a video or an image.

    model = dagan.load_model(ckpt, encoder, decoder, device="cuda")
    result = animate_video(model, "face.png", "driving.mp4", "out.mp4", relative=True, adapt_scale=True)

:func:`animate_video` streams: the driving video is decoded and resized in chunks on a background thread while the
model animates the previous chunk, and the H.264 encoder (ffmpeg) runs in its own process; nothing holds the whole
video, so memory does not grow with its length. The source image's depth, keypoints and encoder features are
computed once (:meth:`dagan.DaganModel.prepare_source`). The driving video is probed once (pass a
:class:`~talkingface.media.VideoReader` to reuse a probe the caller made) and decoded once, twice with a best-frame
search (which keeps the pixels of the frame it picks).

**Best frame.** The authors' demo animates frames ``best..end`` forward and ``best..0`` backward, each half relative
to its own first frame — which is frame ``best`` for both — then reverses the backward half and joins them. Every
output frame depends only on its driving frame, the source and that anchor, so the result is exactly frames
``0..end`` animated in order relative to frame ``best``: one forward pass, no reversed decoding or spilling.
(``tests/dagan/test_pipeline.py`` checks this against the authors' two-halves construction.)

**Face crop** (``crop=FaceCrop("auto", ...)``, :mod:`dagan.framing`): the source and the driving frames are cropped
the way VoxCeleb was; the box search over the driving frames shares the best-frame search's pass. Decoding passes
of the driving video: 1 plain; 2 with a best-frame search, a later ``best_frame``, or a crop (with or without the
search or a given frame: the crop's pass keeps the anchor's pixels). Sources (and driving frames) whose longest side
is over 2048 px are reduced first, with or without a crop.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dagan.framing import FaceCrop, SourceFrame, frame_source, model_frame, model_frames, scan_driving
from dagan.model import FRAME_SIZE
from talkingface.errors import KitError, MediaError
from talkingface.media import MediaInfo, VideoReader

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------------- input
def read_source(path: str | os.PathLike) -> np.ndarray:
    """The source image as (H, W, 3) uint8 RGB: an image file (any size; grey, RGBA, 16-bit handled), or the first
    frame of a video file."""
    from talkingface.media import is_video, read_image

    return VideoReader(path).frame_at(0) if is_video(path) else read_image(path)


# ------------------------------------------------------------------------------------------------- best frame
def best_driving_frame(source: np.ndarray, driving_frames: Iterable[np.ndarray], backend, progress: bool = False,
                       total: int | None = None) -> tuple[int, np.ndarray] | None:
    """(index, pixels) of the driving frame whose landmarks best match the source's, as the authors' demo chooses
    it; the pixels are the frame as it was seen, so the caller need not decode it again.

    Landmarks are taken in the 256x256 square the frames are resized to (coordinates rescaled per axis), centred
    and divided by the square root of their convex hull's area; the frame with the smallest sum of squared
    differences wins. Frames without a face are skipped. Returns None when the source, or every driving frame, has
    no face (callers fall back to frame 0).
    """
    from tqdm import tqdm

    from talkingface.landmarks import normalize_landmarks

    def square(points, shape):
        return None if points is None else np.asarray(points)[:, :2] * [FRAME_SIZE / shape[1], FRAME_SIZE / shape[0]]

    source = np.asarray(source)
    ref = square(backend.detect(source), source.shape)
    ref = normalize_landmarks(ref) if ref is not None else None
    if ref is None:
        return None
    pending: dict[int, np.ndarray] = {}          # frames handed to the backend, not yet scored

    def remember(frames):
        for i, frame in enumerate(frames):
            pending[i] = frame
            yield frame

    best, best_norm = None, np.inf
    bar = tqdm(total=total, unit="frame", desc="best frame", disable=not progress, leave=False)
    with contextlib.closing(bar):
        for i, points in enumerate(backend.detect_video(remember(driving_frames))):
            bar.update(1)
            frame = pending.pop(i)
            points = square(points, frame.shape)
            norm_points = normalize_landmarks(points) if points is not None else None
            if norm_points is None:
                continue
            norm = float(((ref - norm_points) ** 2).sum())
            if norm < best_norm:
                best, best_norm = (i, frame), norm
    return best


def find_best_frame(source: np.ndarray, driving_frames: Iterable[np.ndarray], backend,
                    progress: bool = False, total: int | None = None) -> int | None:
    """Index of the driving frame whose landmarks best match the source's (see :func:`best_driving_frame`), or
    None when no face is found."""
    found = best_driving_frame(source, driving_frames, backend, progress, total)
    return None if found is None else found[0]


# -------------------------------------------------------------------------------------------------- animation
def animate_frames(model, src, chunks: Iterable[np.ndarray], kp_driving_initial=None, relative: bool = True,
                   adapt_scale: bool = True, prefetch: int = 2) -> Iterator[np.ndarray]:
    """Animate driving ``chunks`` ((k, H, W, 3) arrays, any size) of a prepared source ``src``.

    Yields (k, S, S, 3) float32 in [0, 1] per chunk (S = ``model.size``, 256). Chunks are resized on a background
    thread, ``prefetch`` ahead. ``kp_driving_initial`` (``model.driving_keypoints(anchor_frame)``) is needed for
    relative motion.
    """
    from talkingface.media.prefetch import prefetch as ahead

    batches = ahead((model.preprocess(chunk) for chunk in chunks), prefetch)
    try:
        for batch in batches:
            out = model.animate_tensor(src, batch, kp_driving_initial, relative=relative, adapt_scale=adapt_scale)
            yield out.permute(0, 2, 3, 1).cpu().numpy()
    finally:
        batches.close()


@dataclass
class AnimationResult:
    output: Path
    frames: int
    fps: float
    driving_size: tuple[int, int]   # (w, h) of the driving video
    audio: bool                     # the driving audio was kept
    anchor_frame: int               # the driving frame relative motion is measured from
    anchor_reason: str              # "first frame" | "given" | "best frame (<backend>)" | "fallback: …"
    seconds: float
    output_size: tuple[int, int] = (FRAME_SIZE, FRAME_SIZE)   # (w, h) of the frames written
    source_box: tuple | None = None   # crop boxes (left, top, right, bottom) with --crop auto
    driving_box: tuple | None = None

    def summary(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out.update(output=str(self.output), driving_size=list(self.driving_size), output_size=list(self.output_size),
                   source_box=None if self.source_box is None else list(self.source_box),
                   driving_box=None if self.driving_box is None else list(self.driving_box))
        return out


def choose_anchor(image: np.ndarray, reader: VideoReader, best_frame: int | None = None, landmarks=None,
                  progress: bool = False) -> tuple[int, str, np.ndarray | None]:
    """(index, reason, pixels or None) of the driving frame relative motion is measured from: ``best_frame`` when
    given, else the best match of the ``landmarks`` backend (one decoding pass; its pixels kept), else frame 0
    (frame 0 with a warning when the backend finds no face). The pixels are None unless the search saw them."""
    count = reader.frame_count
    if best_frame is not None:
        if not 0 <= int(best_frame) < count:
            raise KitError(f"{reader.path}: best frame {best_frame} is outside the video's frames 0..{count - 1}")
        return int(best_frame), "given", None
    if landmarks is None:
        return 0, "first frame", None
    return _searched(best_driving_frame(image, reader, landmarks, progress=progress, total=count), landmarks)


def _searched(found: tuple[int, np.ndarray] | None, landmarks) -> tuple[int, str, np.ndarray | None]:
    if found is None:
        log.warning("no face found in the source or the driving video by the %s landmark backend; animating from "
                    "frame 0", landmarks.name)
        return 0, f"fallback: no face found by the {landmarks.name} landmark backend", None
    log.info("best frame: %d", found[0])
    return found[0], f"best frame ({landmarks.name})", found[1]


def choose_cropped_anchor(source: SourceFrame, reader: VideoReader, face_crop: FaceCrop, best_frame: int | None = None,
                          search: bool = False, progress: bool = False) -> tuple[int, str, np.ndarray | None, tuple]:
    """:func:`choose_anchor` with a face crop: (index, reason, pixels or None, the driving crop box) from one pass
    over the driving video that finds the box, searches the best frame (``search``, with the crop's backend) and
    keeps a given ``best_frame``'s pixels."""
    if best_frame is not None:
        choose_anchor(source.image, reader, best_frame)               # the range check
    scan = scan_driving(reader, face_crop, source.points if search and best_frame is None else None, best_frame,
                        progress)
    if best_frame is not None:
        return int(best_frame), "given", scan.kept, scan.box
    if not search:
        return 0, "first frame", None, scan.box
    return (*_searched(scan.best, face_crop.backend), scan.box)


def _anchored_chunks(reader: VideoReader, size: int, anchor: int,
                     pixels: np.ndarray | None) -> tuple[Iterator[np.ndarray], np.ndarray]:
    """The driving video's chunks and the anchor frame's pixels: frame 0 is taken from the first chunk (no extra
    decoding); a later frame not seen yet is decoded up to it."""
    chunks = reader.chunks(size)
    if pixels is None and anchor == 0:
        first = next(chunks, None)
        if first is None:
            raise MediaError(f"{reader.path}: decodes to no frames")
        return itertools.chain([first], chunks), first[0]
    return chunks, reader.frame_at(anchor) if pixels is None else pixels


def animate_video(model, source: np.ndarray | str | os.PathLike | SourceFrame,
                  driving: str | os.PathLike | VideoReader | MediaInfo, output: str | os.PathLike, *,
                  relative: bool = True, adapt_scale: bool = True, best_frame: int | None = None, landmarks=None,
                  batch_size: int | None = None, keep_audio: bool = True, progress: bool = True,
                  crop: FaceCrop | None = None) -> AnimationResult:
    """Animate ``source`` (an image array or file, or a :class:`~dagan.framing.SourceFrame` already framed) with
    the driving video (a path, or a VideoReader / MediaInfo already probed); write an H.264 mp4 at the driving
    video's frame rate with its audio (when it has some and ``keep_audio``). The file appears only when complete.

    Relative motion is measured from frame ``best_frame`` when given, else from the frame whose landmarks best
    match the source when a ``landmarks`` backend is given (frame 0, with a warning, when no face is found), else
    from frame 0. Frames are animated in chunks of ``batch_size`` (default: the model's). With ``crop`` (mode
    auto) source and driving are cropped the VoxCeleb way and the search uses the crop's backend; the output is
    the 256x256 animation, or the source image with it pasted back (``crop.paste_back``).
    """
    from tqdm import tqdm

    from talkingface.faces import Paster
    from talkingface.media import VideoWriter

    started = time.perf_counter()
    cropping = crop is not None and crop.auto
    if cropping and landmarks is not None and landmarks is not crop.backend:
        raise ValueError("with a face crop, the best-frame search uses the crop's backend: pass the same one")
    if not isinstance(source, SourceFrame):
        name = str(source) if isinstance(source, (str, os.PathLike)) else "source image"
        image = read_source(source) if isinstance(source, (str, os.PathLike)) else np.asarray(source)
        source = frame_source(image, name, crop)
    reader = driving if isinstance(driving, VideoReader) else VideoReader(driving)
    if not reader.fps > 0:
        raise MediaError(f"{reader.path}: unknown frame rate; re-time it first (python -m talkingface normalize)")
    size = batch_size or model.batch_size
    audio = reader.info if keep_audio and reader.has_audio else None
    written, box = 0, None
    paster = Paster(source.image, source.box) if cropping and crop.paste_back else None
    with reader:                                 # closes the decoders however this ends
        if cropping:
            anchor, reason, pixels, box = choose_cropped_anchor(source, reader, crop, best_frame,
                                                                landmarks is not None, progress)
        else:
            anchor, reason, pixels = choose_anchor(source.image, reader, best_frame, landmarks, progress)
        src = model.prepare_source(source.model_input)
        if relative:
            chunks, pixels = _anchored_chunks(reader, size, anchor, pixels)
            init = model.driving_keypoints(model_frame(pixels, box))
        else:
            chunks, init = reader.chunks(size), None
        with VideoWriter(output, reader.fps, audio=audio) as writer, \
                tqdm(total=reader.frame_count, unit="frame", desc="animate", disable=not progress) as bar:
            for out in animate_frames(model, src, model_frames(chunks, box), init, relative, adapt_scale):
                for frame in (out if paster is None else map(paster.paste, out)):
                    writer.write(frame)
                written += len(out)
                bar.update(len(out))
            out_size = writer.size or (0, 0)
    return AnimationResult(Path(output), written, reader.fps, tuple(reader.size), audio is not None, anchor, reason,
                           time.perf_counter() - started, tuple(out_size), source.box, box)


def animate_image(model, source: np.ndarray | SourceFrame, driving: np.ndarray, crop: FaceCrop | None = None,
                  driving_name: str = "driving image") -> np.ndarray:
    """One driving image -> one (S, S, 3) uint8 frame (S = ``model.size``, 256), with **absolute** motion: relative
    motion from a single frame is measured against that same frame, so it would reproduce the source unchanged.
    With ``crop`` (mode auto) both images are cropped the VoxCeleb way (KitError naming the image without a face);
    with ``crop.paste_back`` the result is the source image with the animated crop pasted back."""
    from talkingface.faces import Paster, crop_box, find_face
    from talkingface.media.frames import as_uint8_frames

    source = source if isinstance(source, SourceFrame) else frame_source(source, "source image", crop)
    driving = frame_source(driving, driving_name).image
    if crop is not None and crop.auto:
        face = find_face(crop.backend, driving)
        if face is None:
            raise KitError(f"{driving_name}: no face found by the {crop.backend.name} face detector (--crop auto)")
        driving = model_frame(driving, crop_box(face.box, driving.shape))
    frame = as_uint8_frames(model.animate(source.model_input, np.asarray(driving)[None], relative=False,
                                          adapt_scale=False))[0]
    return Paster(source.image, source.box).paste(frame) if crop is not None and crop.paste_back else frame
