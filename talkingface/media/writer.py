"""VideoWriter: RGB frames -> H.264 yuv420p mp4 through a pipe to the pinned ffmpeg, audio muxed, written atomically.

* Frames: single (H, W, 3) or batches (N, H, W, 3); uint8, or float in [0, 1] (clipped, then rounded to 0..255).
  Every frame must have the size of the first one.
* **Odd sizes** are padded to even by repeating the last column and/or row (libx264's yuv420p needs even sizes).
  The file is then one pixel wider/taller than the frames; the original size is not recorded anywhere, so a reader
  cannot crop it back - crop yourself, or write even sizes, when the exact size matters.
* Colour: RGB is converted to limited-range BT.601 YUV and tagged so (``smpte170m``, ``tv``).
* **Audio** (``audio=`` any media file with an audio stream, or its :class:`MediaInfo`) is encoded to AAC and
  muxed in a second, stream-copy pass when the writer closes. The video length wins: audio longer than the video
  is cut at the last frame, shorter audio is padded with silence to the video's duration. Sync is exact (sample
  0 of the audio plays with frame 0; tests/talkingface/test_av_sync.py): AAC's 1024-sample encoder priming is cut
  by the container (mp4/mov edit list, Matroska codec delay). AVI can signal neither the priming nor B-frame
  reordering, so an ``.avi`` gets PCM audio and H.264 without B-frames (:func:`~talkingface.media.ffmpeg.h264_args`).
* **Atomic**: everything is written to a hidden temporary file in the destination folder and renamed with
  ``os.replace`` only when ffmpeg succeeded; an exception (inside ``with`` or from ffmpeg) removes the temporary
  files, so a crash never leaves a half-written video under the final name.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np

from talkingface.errors import MediaError
from talkingface.fsutil import prepare_output, remove_quietly, temp_sibling
from talkingface.media.ffmpeg import (
    audio_codec,
    container_args,
    ffmpeg_exe,
    h264_args,
    last_error_line,
    rate_str,
    run_ffmpeg,
)
from talkingface.media.frames import as_uint8_frames
from talkingface.media.probe import MediaInfo, require_audio

CONTAINERS = (".mp4", ".mov", ".m4v", ".mkv", ".avi")  # containers that hold H.264 (+ AAC)
_COLOUR_TAGS = ["-colorspace", "smpte170m", "-color_primaries", "smpte170m", "-color_trc", "smpte170m",
                "-color_range", "tv"]


def check_video_name(path: str | os.PathLike[str]) -> Path:
    """``path`` when its extension names a container the kit writes H.264 (+ audio) into; else one MediaError."""
    if Path(path).suffix.lower() not in CONTAINERS:
        raise MediaError(f"{path}: cannot write H.264 video with this extension; use {', '.join(CONTAINERS)}")
    return Path(path)


class VideoWriter:
    """Write frames to an H.264 (libx264, yuv420p) video; see the module docstring for sizes, colour and audio.

    ``VideoWriter(path, fps, audio=None, crf=18, preset="medium")``; ``write(frame_or_batch)``; ``close()`` (or
    leave the ``with`` block) to finish. ``abort()`` discards everything. ``frame_count`` counts frames written.
    """

    def __init__(self, path: str | os.PathLike[str], fps: float | Fraction = 25,
                 audio: str | os.PathLike[str] | MediaInfo | None = None, *, crf: int = 18, preset: str = "medium"):
        self.path = prepare_output(check_video_name(path))
        self.fps = fps
        self._rate = rate_str(fps)
        self.audio: Path | None = None
        if isinstance(audio, MediaInfo):            # a probe the caller already has (e.g. its VideoReader's info)
            if not audio.has_audio:
                raise MediaError(f"{audio.path}: has no audio stream (needed as the audio track of {self.path})")
            self.audio = audio.path
        elif audio is not None:
            self.audio = require_audio(audio, f"needed as the audio track of {self.path}").path
        self.crf, self.preset = int(crf), preset
        self.frame_count = 0
        self.size: tuple[int, int] | None = None  # (w, h) of the frames given
        self._proc: subprocess.Popen | None = None
        self._stderr = None
        self._tmp_video: Path | None = None
        self._closed = False

    # -- writing -------------------------------------------------------------------------------------------------
    def _start(self, width: int, height: int) -> None:
        self.size = (width, height)
        self._pad = (height % 2, width % 2)
        out_w, out_h = width + self._pad[1], height + self._pad[0]
        # the audio pass stream-copies this file; AVI keeps its 1/fps time base only when copied from AVI
        plain = self.audio is None or self.path.suffix.lower() == ".avi"
        self._tmp_video = temp_sibling(self.path if plain else self.path.with_suffix(".mp4"))
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the writer
        cmd = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{out_w}x{out_h}", "-framerate", self._rate, "-i", "-",
               "-an", "-c:v", "libx264", "-preset", self.preset, "-crf", str(self.crf), *h264_args(self.path),
               "-pix_fmt", "yuv420p", *_COLOUR_TAGS, *container_args(self._tmp_video), str(self._tmp_video)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr)

    def write(self, frames) -> None:
        """Append one frame (H, W, 3) or a batch (N, H, W, 3); uint8 or float in [0, 1]."""
        if self._closed:
            raise ValueError(f"VideoWriter for {self.path} is closed")
        batch = as_uint8_frames(frames)
        if batch.shape[0] == 0:
            return
        height, width = batch.shape[1:3]
        if self._proc is None:
            self._start(width, height)
        elif (width, height) != self.size:
            w0, h0 = self.size
            raise ValueError(f"frame size {width}x{height} differs from the first frame's {w0}x{h0}")
        if any(self._pad):
            batch = np.pad(batch, ((0, 0), (0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        try:
            self._proc.stdin.write(np.ascontiguousarray(batch).data)
        except (BrokenPipeError, OSError):
            message = self._ffmpeg_error()
            self.abort()
            raise MediaError(f"{self.path}: ffmpeg stopped while encoding ({message})") from None
        self.frame_count += batch.shape[0]

    def _ffmpeg_error(self) -> str:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self._stderr is None:
            return "no message"
        self._stderr.seek(0)
        return last_error_line(self._stderr.read().decode("utf-8", "replace"))

    # -- finishing -----------------------------------------------------------------------------------------------
    def close(self) -> Path:
        """Finish encoding, mux the audio, and move the file into place. Returns the final path."""
        if self._closed:
            return self.path
        if self._proc is None:
            self.abort()
            raise MediaError(f"{self.path}: no frames were written; nothing saved")
        try:
            self._proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        code = self._proc.wait()
        if code != 0:
            message = self._ffmpeg_error()
            self.abort()
            raise MediaError(f"{self.path}: ffmpeg failed while encoding ({message})")
        final_tmp = self._tmp_video
        try:
            if self.audio is not None:
                final_tmp = temp_sibling(self.path)
                duration = Fraction(self.frame_count) / Fraction(self._rate)
                run_ffmpeg(["-y", "-i", self._tmp_video, "-i", self.audio, "-map", "0:v:0", "-map", "1:a:0",
                            "-c:v", "copy", "-af", "apad", "-c:a", audio_codec(self.path),
                            "-t", f"{float(duration):.6f}",
                            *container_args(self.path), final_tmp], f"{self.path}: cannot mux audio from {self.audio}")
            os.replace(final_tmp, self.path)
        except BaseException:
            remove_quietly(final_tmp)
            self.abort()
            raise
        if final_tmp != self._tmp_video:
            remove_quietly(self._tmp_video)
        self._tmp_video = None
        self._cleanup()
        return self.path

    def abort(self) -> None:
        """Stop ffmpeg and delete the temporary file(s); nothing is written under the final name."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._proc is not None and self._proc.stdin is not None:
            try:
                self._proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
        remove_quietly(self._tmp_video)
        self._tmp_video = None
        self._cleanup()

    def _cleanup(self) -> None:
        self._closed = True
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> VideoWriter:  # noqa: PYI034
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            warnings.warn(f"VideoWriter for {self.path} was never closed; discarding it", ResourceWarning,
                          stacklevel=2)
            self.abort()
