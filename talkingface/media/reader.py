"""``VideoReader``: decode a video frame by frame (or in chunks) as RGB uint8, never holding it whole.

Decoding uses PyAV (``av``, FFmpeg libraries in-process): one frame at a time, so memory stays bounded whatever the
length of the video (``benchmarks/bench_media_memory.py``: 81 MB peak RSS for 10 min of 640x360). It gives exact
stream metadata without decoding and raises Python exceptions we turn into one-line :class:`MediaError` messages,
where a pipe from the ffmpeg binary would need stderr parsing; its speed is about the same (640x360 H.264 on 2
shared cores: PyAV 910-1100 frames/s, an ``ffmpeg -f rawvideo`` pipe 930-1290 frames/s).

**Colour.** Frames come out as full-range RGB (0..255) exactly as ``ffmpeg -pix_fmt rgb24`` would give them:
limited-range ("tv", 16..235) YUV is expanded to 0..255, full-range ("pc"/yuvj) YUV is taken as is, and the matrix
is the one the stream is tagged with (BT.709, BT.601 ...), BT.601 when untagged. The tests check that our frames
are byte-identical to the pinned ffmpeg binary's rgb24 output on limited, full-range and BT.709 clips.

**Frame rate.** Frames come as stored (variable frame rate stays variable); use
:func:`talkingface.media.to_constant_fps` (or ``python -m talkingface normalize``) to get 25 fps CFR first.
"""
from __future__ import annotations

import os
import weakref
from collections.abc import Iterator

import av
import numpy as np

from talkingface.errors import MediaError
from talkingface.media.ffmpeg import thread_budget
from talkingface.media.probe import MediaInfo, open_container, probe


class VideoReader:
    """Read a video frame by frame as RGB uint8 (H, W, 3) arrays, never holding it whole.

    Properties: ``fps``, ``frame_count``, ``size`` (w, h), ``width``, ``height``, ``has_audio``, ``duration``,
    ``info`` (the :class:`MediaInfo`; pass one instead of a path to skip probing again). Iterating decodes from the
    start each time; ``chunks(n)`` yields (k, H, W, 3) arrays with k <= n; ``frame_at(i)`` returns one frame. Use as
    a context manager or call ``close()`` to release decoders early.
    """

    def __init__(self, path: str | os.PathLike[str] | MediaInfo):
        self.info = path if isinstance(path, MediaInfo) else probe(path)
        self.path = self.info.path
        if not self.info.has_video:
            raise MediaError(f"{self.path}: has no video stream")
        self._generators: weakref.WeakSet = weakref.WeakSet()

    fps = property(lambda self: self.info.fps, doc="Average frame rate.")
    frame_count = property(lambda self: self.info.frame_count, doc="Number of frames (exact for mp4/mov).")
    size = property(lambda self: self.info.size, doc="(width, height).")
    width = property(lambda self: self.info.width)
    height = property(lambda self: self.info.height)
    has_audio = property(lambda self: self.info.has_audio)
    duration = property(lambda self: self.info.duration, doc="Video duration in seconds.")

    def __len__(self) -> int:
        return self.frame_count

    def __repr__(self) -> str:
        return f"VideoReader({str(self.path)!r}: {self.info.summary()})"

    def __iter__(self) -> Iterator[np.ndarray]:
        gen = self._frames()
        self._generators.add(gen)
        return gen

    def _frames(self) -> Iterator[np.ndarray]:
        container = open_container(self.path)
        width, height = self.size
        index = 0
        try:
            stream = container.streams.video[0]
            budget = thread_budget()
            if budget is None:
                stream.thread_type = "AUTO"
            else:                                   # a worker's budget (talkingface.preprocess): no extra threads
                stream.thread_count = budget
            # swscale's RGB conversion starts one thread per CPU by default (0); under a budget, two workers on
            # 2 cores waited on each other's slice threads: 15 % more wall time for the same decode
            convert = {"format": "rgb24", "threads": budget or 0}
            for frame in container.decode(stream):
                if frame.width != width or frame.height != height:
                    array = frame.to_ndarray(width=width, height=height, **convert)
                else:
                    array = frame.to_ndarray(**convert)
                index += 1
                yield array
        except av.FFmpegError as exc:
            raise MediaError(f"{self.path}: decoding failed after {index} frames ({exc})") from None
        finally:
            container.close()

    def chunks(self, n: int) -> Iterator[np.ndarray]:
        """Yield (k, H, W, 3) uint8 arrays of consecutive frames, k == n except possibly for the last."""
        if int(n) < 1:
            raise ValueError(f"chunk size must be >= 1, got {n}")
        n = int(n)
        buffer: list[np.ndarray] = []
        for frame in self:
            buffer.append(frame)
            if len(buffer) == n:
                yield np.stack(buffer)
                buffer = []
        if buffer:
            yield np.stack(buffer)

    def frame_at(self, index: int) -> np.ndarray:
        """Frame ``index`` (0-based), decoding from the start; MediaError when the video has fewer frames."""
        frames = iter(self)
        try:
            for i, frame in enumerate(frames):
                if i == index:
                    return frame
        finally:
            frames.close()
        raise MediaError(f"{self.path}: has no frame {index} (it decodes to fewer frames)")

    def close(self) -> None:
        for gen in list(self._generators):
            gen.close()

    def __enter__(self) -> VideoReader:  # noqa: PYI034
        return self

    def __exit__(self, *exc) -> None:
        self.close()
