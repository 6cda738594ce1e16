"""``probe``: a media file's streams, frame count, size, rate and colour range, read without decoding.

Frame counts come from the container's index when it has one (mp4/mov: exact) and are otherwise counted by
demuxing packets (no decoding). A truncated mp4 (index says more frames than the file holds) is detected by reading
only the last group of pictures, and refused. Rotation metadata (phone videos) is ignored: ``size`` is the stored
size.
"""
from __future__ import annotations

import dataclasses
import os
from fractions import Fraction
from pathlib import Path

import av

from talkingface.errors import MediaError
from talkingface.fsutil import check_input


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


def open_container(path: Path) -> av.container.InputContainer:
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
    container = open_container(path)
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
