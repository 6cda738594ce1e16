"""Streaming video and audio I/O: probe, read frame by frame, write H.264 mp4 atomically, re-time, extract audio.

    from talkingface.media import VideoReader, VideoWriter, probe
    with VideoReader("in.mp4") as reader, VideoWriter("out.mp4", reader.fps, audio="in.mp4") as writer:
        for chunk in reader.chunks(32):          # (k, H, W, 3) uint8 RGB, k <= 32
            writer.write(255 - chunk)            # single frames (H, W, 3) or batches; uint8 or float in [0, 1]

Design
------
* **Decoding** uses PyAV (``av``, FFmpeg libraries in-process): one frame at a time, so memory stays bounded
  whatever the length of the video (a 10-minute 640x360 video reads in well under 400 MB peak RSS; see
  ``benchmarks/bench_media_memory.py``: 81 MB peak for 10 min of 640x360). It gives exact stream metadata without
  decoding and raises Python exceptions we can turn into one-line :class:`MediaError` messages, where a pipe from
  the ffmpeg binary would need stderr parsing; its speed is about the same (640x360 H.264 on 2 shared cores:
  PyAV 910-1100 frames/s, an ``ffmpeg -f rawvideo`` pipe 930-1290 frames/s). Nothing is ever held whole.
* **Encoding, audio extraction and re-timing** run the pinned ffmpeg binary of imageio-ffmpeg
  (:func:`ffmpeg_exe`, version via :func:`ffmpeg_version`), never an ``ffmpeg`` from PATH.
* **Colour.** Frames come out as full-range RGB (0..255) exactly as ``ffmpeg -pix_fmt rgb24`` would give them:
  limited-range ("tv", 16..235) YUV is expanded to 0..255, full-range ("pc"/yuvj) YUV is taken as is, and the matrix
  is the one the stream is tagged with (BT.709, BT.601 ...), BT.601 when untagged. The test suite checks that our
  frames are byte-identical to the pinned ffmpeg binary's rgb24 output on limited, full-range and BT.709 clips.
  What we *write* is limited-range BT.601 (tagged ``smpte170m``, ``tv``), so files round-trip through any decoder.
  LSE-D/LSE-C move with the ffmpeg version because this range conversion changed between versions (see
  ENVIRONMENT.md "LSE and ffmpeg versions"): report :func:`media_versions` next to LSE numbers.
* **Frame rate.** :class:`VideoReader` yields the frames as stored (variable frame rate stays variable); use
  :func:`to_constant_fps` (or ``python -m talkingface normalize``) to get 25 fps constant frame rate first.
* **Rotation metadata** (phone videos) is ignored: frames come as stored, and ``size`` is the stored size.
* **Frame counts** come from the container's index when it has one (mp4/mov: exact) and are otherwise counted by
  demuxing packets (no decoding). A truncated mp4 (index says more frames than the file holds) is detected by
  reading only the last group of pictures, and refused.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
import weakref
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from talkingface.errors import MediaError
from talkingface.media_ffmpeg import (
    check_input,
    container_args,
    ffmpeg_exe,
    ffmpeg_version,
    media_versions,
    prepare_output,
    rate_str,
    remove_quietly,
    run_ffmpeg,
    temp_name,
)
from talkingface.media_writer import VideoWriter

__all__ = [
    "MediaInfo",
    "VideoReader",
    "VideoWriter",
    "extract_audio",
    "ffmpeg_exe",
    "ffmpeg_version",
    "media_versions",
    "probe",
    "read_audio",
    "to_constant_fps",
]


@dataclasses.dataclass(frozen=True)
class MediaInfo:
    """What :func:`probe` found. Video fields are 0 / empty when the file has no video stream."""

    path: Path
    format: str  # container, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    has_video: bool
    fps: float  # average frame rate of the video stream
    frame_count: int  # exact for mp4/mov (index) and for containers whose packets we count
    width: int
    height: int
    duration: float  # seconds: the video stream's duration (the container's when the stream has none)
    video_codec: str
    pix_fmt: str
    color_range: str  # "tv" (limited), "pc" (full) or "unknown"
    has_audio: bool
    audio_codec: str
    audio_sample_rate: int  # 0 without audio
    audio_channels: int
    audio_duration: float  # seconds, 0.0 without audio

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return (self.width, self.height)

    def summary(self) -> str:
        """One line for humans: fps, frames, size, duration, audio."""
        if self.has_video:
            text = (f"{self.fps:.3f} fps, {self.frame_count} frames, {self.width}x{self.height}, "
                    f"{self.duration:.3f} s, {self.video_codec}")
        else:
            text = f"no video, {self.audio_duration:.3f} s"
        if self.has_audio:
            text += f", audio yes ({self.audio_codec}, {self.audio_sample_rate} Hz, {self.audio_channels} ch)"
        else:
            text += ", audio no"
        return text


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MediaError(f"{path}: not a readable media file ({reason})") from None


def _seconds(value: int | None, time_base: Fraction | None) -> float:
    return float(value * time_base) if value is not None and time_base is not None else 0.0


def _count_packets(container, stream) -> int:
    return sum(1 for packet in container.demux(stream) if packet.size)


def _last_packet_end(container, stream, end: int) -> int | None:
    """Demux the last group of pictures of ``stream``; the largest pts + duration seen (None if no packet).

    A container that cannot seek is not checked (``end`` is returned)."""
    try:
        container.seek(end, stream=stream, backward=True, any_frame=False)
    except av.FFmpegError:
        return end
    last = None
    for packet in container.demux(stream):
        if packet.pts is not None and packet.size:
            stop = packet.pts + (packet.duration or 0)
            last = stop if last is None else max(last, stop)
    return last


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Read a media file's metadata without decoding it.

    Raises MediaError (one line naming the file) when the file is missing, a directory, empty, not media, truncated,
    or has neither video nor audio.
    """
    path = check_input(path)
    container = _open(path)
    try:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise MediaError(f"{path}: no video or audio stream")
        fps, frames, width, height, duration = 0.0, 0, 0, 0, 0.0
        vcodec = pix_fmt = ""
        color_range = "unknown"
        if video is not None:
            ctx = video.codec_context
            rate = video.average_rate or video.guessed_rate or video.base_rate
            fps = float(rate) if rate else 0.0
            width, height = ctx.width, ctx.height
            vcodec = ctx.name or ""
            pix_fmt = ctx.pix_fmt or ""
            color_range = {1: "tv", 2: "pc"}.get(int(ctx.color_range or 0), "unknown")
            if pix_fmt.startswith("yuvj"):
                color_range = "pc"
            duration = _seconds(video.duration, video.time_base)
            if not duration and container.duration:
                duration = container.duration / 1_000_000
            try:
                frames = int(video.frames or 0)
                if frames > 0 and video.duration:
                    end = (video.start_time or 0) + video.duration
                    last = _last_packet_end(container, video, end)
                    tolerance = int(1 / (fps * video.time_base)) if fps else 0
                    if last is None or last + tolerance < end:
                        got = _seconds(last - (video.start_time or 0), video.time_base) if last else 0.0
                        raise MediaError(f"{path}: truncated file (video stops at {got:.2f} s of {duration:.2f} s)")
                elif frames <= 0:
                    frames = _count_packets(container, video)
            except av.FFmpegError as exc:
                raise MediaError(f"{path}: corrupt or truncated file ({exc})") from None
            if frames <= 0:
                raise MediaError(f"{path}: video stream holds no frames")
            if not duration and fps:
                duration = frames / fps
            if width <= 0 or height <= 0:
                raise MediaError(f"{path}: video stream has no frame size (corrupt header?)")
        a_dur = _seconds(audio.duration, audio.time_base) if audio is not None else 0.0
        if audio is not None and not a_dur and container.duration:
            a_dur = container.duration / 1_000_000
        return MediaInfo(
            path=path,
            format=container.format.name,
            has_video=video is not None,
            fps=fps,
            frame_count=frames,
            width=width,
            height=height,
            duration=duration,
            video_codec=vcodec,
            pix_fmt=pix_fmt,
            color_range=color_range,
            has_audio=audio is not None,
            audio_codec=(audio.codec_context.name or "") if audio is not None else "",
            audio_sample_rate=int(audio.codec_context.sample_rate or 0) if audio is not None else 0,
            audio_channels=int(audio.codec_context.channels or 0) if audio is not None else 0,
            audio_duration=a_dur,
        )
    finally:
        container.close()


def require_audio(path: str | os.PathLike[str], purpose: str = "audio is needed") -> MediaInfo:
    """probe(path), raising MediaError when the file has no audio stream."""
    info = probe(path)
    if not info.has_audio:
        raise MediaError(f"{info.path}: has no audio stream ({purpose})")
    return info


class VideoReader:
    """Read a video frame by frame as RGB uint8 (H, W, 3) arrays, never holding it whole.

    Properties: ``fps``, ``frame_count``, ``size`` (w, h), ``width``, ``height``, ``has_audio``, ``duration``,
    ``info`` (the :class:`MediaInfo`). Iterating decodes from the start each time; ``chunks(n)`` yields (k, H, W, 3)
    arrays with k <= n. Use as a context manager or call ``close()`` to release decoders early.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.info = probe(path)
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
        container = _open(self.path)
        width, height = self.size
        index = 0
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                if frame.width != width or frame.height != height:
                    array = frame.to_ndarray(format="rgb24", width=width, height=height)
                else:
                    array = frame.to_ndarray(format="rgb24")
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

    def close(self) -> None:
        for gen in list(self._generators):
            gen.close()

    def __enter__(self) -> VideoReader:  # noqa: PYI034
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_audio(path: str | os.PathLike[str], sample_rate: int = 16000) -> np.ndarray:
    """Decode the first audio stream of any media file to mono int16 at ``sample_rate`` (ffmpeg's resampler, the
    same conversion as syncnet_python's ``ffmpeg -ac 1 -ar 16000 -acodec pcm_s16le``). Returns a 1-D np.int16 array."""
    info = require_audio(path, "cannot read audio")
    raw = run_ffmpeg(["-i", info.path, "-map", "0:a:0", "-vn", "-ac", "1", "-ar", int(sample_rate),
                      "-f", "s16le", "-acodec", "pcm_s16le", "-"], f"{info.path}: cannot decode audio",
                     stdout=subprocess.PIPE)
    return np.frombuffer(raw, dtype="<i2").astype(np.int16)


def extract_audio(src: str | os.PathLike[str], dst: str | os.PathLike[str], sample_rate: int = 16000) -> Path:
    """Write the audio of ``src`` as a mono 16-bit PCM wav at ``sample_rate``, atomically. Returns ``dst``."""
    info = require_audio(src, "cannot extract audio")
    out = prepare_output(dst, info.path)
    tmp = temp_name(out.with_suffix(".wav"))
    try:
        run_ffmpeg(["-y", "-i", info.path, "-map", "0:a:0", "-vn", "-ac", "1", "-ar", int(sample_rate),
                    "-acodec", "pcm_s16le", "-f", "wav", tmp], f"{info.path}: cannot extract audio")
        os.replace(tmp, out)
    finally:
        remove_quietly(tmp)
    return out


def _even_pad_filter(width: int, height: int) -> list[str]:
    """Filters that pad an odd width/height by one pixel repeating the last column/row (libx264 yuv420p needs even)."""
    pad_w, pad_h = width % 2, height % 2
    if not (pad_w or pad_h):
        return []
    return [f"pad={width + pad_w}:{height + pad_h}:0:0",
            f"fillborders=right={pad_w}:bottom={pad_h}:mode=smear"]


def to_constant_fps(src: str | os.PathLike[str], dst: str | os.PathLike[str], fps: float = 25,
                    *, crf: int = 18, preset: str = "medium") -> MediaInfo:
    """Re-time ``src`` to constant ``fps`` (H.264 yuv420p, audio AAC) keeping its duration (within one frame) and
    its audio (copied when already AAC, else encoded). Frames are dropped or repeated by ffmpeg's ``fps`` filter
    (nearest timestamp). Odd sizes are padded by one pixel (last row/column repeated). Written atomically.
    Returns the probe of the result."""
    info = probe(src)
    if not info.has_video:
        raise MediaError(f"{info.path}: has no video stream to re-time")
    out = prepare_output(dst, info.path)
    filters = [f"fps={rate_str(fps)}", *_even_pad_filter(info.width, info.height)]
    args = ["-y", "-i", info.path, "-map", "0:v:0", "-vf", ",".join(filters),
            "-c:v", "libx264", "-preset", preset, "-crf", int(crf), "-pix_fmt", "yuv420p", "-fps_mode", "cfr"]
    if info.has_audio:
        args += ["-map", "0:a:0", "-c:a", "copy" if info.audio_codec == "aac" else "aac"]
    tmp = temp_name(out)
    try:
        run_ffmpeg([*args, *container_args(out), tmp], f"{info.path}: cannot re-time to {fps} fps")
        os.replace(tmp, out)
    finally:
        remove_quietly(tmp)
    return probe(out)
