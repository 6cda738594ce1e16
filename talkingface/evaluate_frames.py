"""Frame access for the runner: images and videos behind one streaming interface, paired by index.

Videos are read in chunks through ``talkingface.media.VideoReader`` and never held whole; an image is one frame.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from talkingface.errors import MediaError
from talkingface.evaluate_pairing import is_video


def read_image(path: Path) -> np.ndarray:
    from talkingface.images import read_image as _read

    return _read(path)


class FrameFile:
    """One image or video: ``size`` (w, h), ``count`` (frames; metadata for videos), ``chunks(n)``."""

    def __init__(self, path: Path, resize_to: Optional[tuple] = None):
        self.path = Path(path)
        self.video = is_video(self.path)
        self._image = None
        self._reader = None
        if not self.path.is_file():
            raise MediaError(f"{self.path}: file not found")
        if self.video:
            from talkingface.media import VideoReader

            self._reader = VideoReader(self.path)
            self.size = tuple(int(v) for v in self._reader.size)
            self.count = int(getattr(self._reader, "frame_count", 0) or 0)
        else:
            image = read_image(self.path)
            self._image = image if image.flags.writeable else image.copy()   # torch.from_numpy warns on read-only
            self.size = (int(self._image.shape[1]), int(self._image.shape[0]))
            self.count = 1
        self.resize_to = tuple(resize_to) if resize_to and tuple(resize_to) != self.size else None

    def chunks(self, n: int) -> Iterator[np.ndarray]:
        if self._image is not None:
            yield self._resize(self._image[None])
            return
        for chunk in self._reader.chunks(n):
            yield self._resize(np.asarray(chunk))

    def _resize(self, batch: np.ndarray) -> np.ndarray:
        if self.resize_to is None:
            return batch
        return resize_frames(batch, self.resize_to)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> "FrameFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def resize_frames(batch: np.ndarray, size: tuple) -> np.ndarray:
    """Resize (N,H,W,3) uint8 frames to ``size`` (w, h): area filter when shrinking, bicubic when enlarging."""
    import cv2

    w, h = int(size[0]), int(size[1])
    shrink = w * h < batch.shape[1] * batch.shape[2]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in batch])


class PairedStream:
    """Iterate (generated (k,H,W,3), reference (k,H,W,3) | None) with equal k <= n, frame i with frame i.

    Stops at the shorter file; afterwards ``longer`` is "generated", "reference" or None (same length).
    """

    def __init__(self, gen: FrameFile, ref: Optional[FrameFile], n: int):
        self.gen, self.ref, self.n = gen, ref, n
        self.longer: Optional[str] = None

    def __iter__(self) -> Iterator[tuple]:
        if self.ref is None:
            for g in self.gen.chunks(self.n):
                yield g, None
            return
        gi, ri = self.gen.chunks(self.n), self.ref.chunks(self.n)
        gbuf = rbuf = None
        while True:
            if gbuf is None or len(gbuf) == 0:
                gbuf = next(gi, None)
            if rbuf is None or len(rbuf) == 0:
                rbuf = next(ri, None)
            if gbuf is None or rbuf is None:
                if gbuf is not None:
                    self.longer = "generated"
                elif rbuf is not None or next(ri, None) is not None:
                    self.longer = "reference"
                return
            k = min(len(gbuf), len(rbuf))
            yield gbuf[:k], rbuf[:k]
            gbuf, rbuf = gbuf[k:], rbuf[k:]


def fid_stride(count: int, max_frames: Optional[int]) -> int:
    """Keep every ``stride``-th frame so that at most ``max_frames`` frames of a video enter FID (None = all)."""
    if not max_frames or count <= max_frames:
        return 1
    return math.ceil(count / max_frames)


def middle_frame(path: Path, chunk: int = 32) -> np.ndarray:
    """The middle frame of a video (by its frame count), or the image itself."""
    with FrameFile(path) as f:
        mid = f.count // 2
        seen, last = 0, None
        for c in f.chunks(chunk):
            if seen + len(c) > mid:
                return c[mid - seen]
            seen += len(c)
            last = c[-1]
    if last is None:
        raise MediaError(f"{path}: no frames")
    return last


def thumbnail(frame: np.ndarray, max_side: int = 256) -> np.ndarray:
    h, w = frame.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return frame
    import cv2

    return cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def side_by_side(panels: list, max_side: Optional[int] = None, gap: int = 4) -> np.ndarray:
    """Frames left to right (None = grey placeholder), each scaled to a common height (≤ max_side)."""
    real = [p for p in panels if p is not None]
    if not real:
        raise MediaError("nothing to show")
    height = max(p.shape[0] for p in real)
    if max_side:
        height = min(height, max_side)
    import cv2

    tiles = []
    for p in panels:
        if p is None:
            tile = np.full((height, height, 3), 200, np.uint8)
        else:
            w = max(1, round(p.shape[1] * height / p.shape[0]))
            tile = p if p.shape[0] == height else cv2.resize(p, (w, height), interpolation=cv2.INTER_AREA)
        tiles.append(tile)
        tiles.append(np.full((height, gap, 3), 255, np.uint8))
    return np.concatenate(tiles[:-1], axis=1)


def encode_png(frame: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(frame[..., ::-1]))
    if not ok:
        raise MediaError("PNG encoding failed")
    return buf.tobytes()
