"""``to_constant_fps``: re-time a video to a constant frame rate (H.264 + AAC) with the pinned ffmpeg, atomically."""
from __future__ import annotations

import os

from talkingface.errors import MediaError
from talkingface.fsutil import atomic_path, prepare_output
from talkingface.media.ffmpeg import audio_codec, container_args, h264_args, rate_str, run_ffmpeg
from talkingface.media.probe import MediaInfo, probe
from talkingface.media.writer import check_video_name


def _even_pad_filter(width: int, height: int) -> list[str]:
    """Filters that pad an odd width/height by one pixel repeating the last column/row (libx264 yuv420p needs even)."""
    pad_w, pad_h = width % 2, height % 2
    if not (pad_w or pad_h):
        return []
    return [f"pad={width + pad_w}:{height + pad_h}:0:0",
            f"fillborders=right={pad_w}:bottom={pad_h}:mode=smear"]


def to_constant_fps(src: str | os.PathLike[str], dst: str | os.PathLike[str], fps: float = 25,
                    *, crf: int = 18, preset: str = "medium") -> MediaInfo:
    """Re-time ``src`` to constant ``fps`` (H.264 yuv420p, audio AAC; PCM and no B-frames in AVI, see
    :func:`~talkingface.media.ffmpeg.audio_codec`) keeping its duration (within one frame) and its audio in sync
    (copied when already in that codec, else encoded). Frames are dropped or repeated by ffmpeg's ``fps`` filter
    (nearest timestamp). Odd sizes are padded by one pixel (last row/column repeated). Written atomically.
    Returns the probe of the result."""
    info = probe(src)
    if not info.has_video:
        raise MediaError(f"{info.path}: has no video stream to re-time")
    out = prepare_output(check_video_name(dst), info.path)
    filters = [f"fps={rate_str(fps)}", *_even_pad_filter(info.width, info.height)]
    args = ["-y", "-i", info.path, "-map", "0:v:0", "-vf", ",".join(filters),
            "-c:v", "libx264", "-preset", preset, "-crf", int(crf), *h264_args(out), "-pix_fmt", "yuv420p",
            "-fps_mode", "cfr"]
    if info.has_audio:
        codec = audio_codec(out)
        args += ["-map", "0:a:0", "-c:a", "copy" if info.audio_codec == codec else codec]
    with atomic_path(out) as tmp:
        run_ffmpeg([*args, *container_args(out), tmp], f"{info.path}: cannot re-time to {fps} fps")
    return probe(out)
