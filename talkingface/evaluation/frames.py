"""Frame access for the runner: images and videos behind one streaming interface, paired by index.

Videos are read in chunks through ``talkingface.media.VideoReader`` and never held whole; an image is one frame.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from talkingface.errors import MediaError
from talkingface.media import VideoReader, is_video, read_image
from talkingface.media.frames import resize_frames


class FrameFile:
    """One image or video: ``size`` (w, h), ``count`` (frames; metadata for videos), ``fps`` (None for an image),
    ``has_audio``, ``chunks(n)``."""

    def __init__(self, path: Path, resize_to: Optional[tuple] = None):
        self.path = Path(path)
        self.video = is_video(self.path)
        self._image = None
        self._reader = None
        if not self.path.is_file():
            raise MediaError(f"{self.path}: file not found")
        if self.video:
            self._reader = VideoReader(self.path)
            self.size = tuple(int(v) for v in self._reader.size)
            self.count = self._reader.frame_count
            self.fps: Optional[float] = self._reader.fps
        else:
            self._image = read_image(self.path)
            self.size = (int(self._image.shape[1]), int(self._image.shape[0]))
            self.count = 1
            self.fps = None
        self.resize_to = tuple(resize_to) if resize_to and tuple(resize_to) != self.size else None

    @property
    def has_audio(self) -> bool:
        return self._reader is not None and self._reader.has_audio

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


class SourceFrames:
    """A sample's source, taken alongside the generated frames: an image repeated for every frame (a broadcast view,
    no copy), a video paired by index (read in chunks, never held whole). Frames keep the source's own size."""

    def __init__(self, path: Path, n: int):
        self.file = FrameFile(path)
        self.count = self.file.count
        self._chunks = self.file.chunks(n)
        self._image = None if self.file.video else next(self._chunks)[0]
        self._buf: Optional[np.ndarray] = None
        self.taken = 0
        self.short = False                  # a video that ended before the generated frames did

    def take(self, k: int) -> Optional[np.ndarray]:
        """The source frames of the next ``k`` generated frames: k frames, fewer at the end of a shorter video,
        None once it has ended."""
        if self._image is not None:
            self.taken += k
            return np.broadcast_to(self._image, (k, *self._image.shape))
        parts, need = [], k
        while need > 0:
            if self._buf is None or len(self._buf) == 0:
                self._buf = next(self._chunks, None)
                if self._buf is None:
                    self.short = True
                    break
            parts.append(self._buf[:need])
            self._buf = self._buf[need:]
            need -= len(parts[-1])
        self.taken += k - need
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def close(self) -> None:
        self.file.close()
