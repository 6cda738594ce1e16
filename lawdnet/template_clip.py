"""The template video as LawDNet uses it: a 25 fps clip with a keyframe every GOP frames, read forward or ping-pong.

A template video can have any frame rate (variable too), any container and any keyframe spacing; the lip-sync output
is 25 fps and as long as the audio, so the template is played forward, then backward, then forward … when the audio
is longer (DINet's ``inference.py`` rule: frames ``0..L-1, L-1..0, 0..L-1, …``, period ``2L``). Reading backward
without holding the video in memory needs cheap random access, so the used part of the template (from
``start_s``, at most ``max_frames`` frames) is re-timed once into a cached clip: 25 fps CFR H.264 (visually
lossless, crf 12), a keyframe every :data:`GOP` frames and no B-frames. A backward block ``[mK, (m+1)K)`` then starts
at a keyframe and decodes exactly its own frames: ping-pong costs what a forward pass costs.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from talkingface.errors import MediaError
from talkingface.fsutil import atomic_path
from talkingface.media import MediaInfo, probe
from talkingface.media.ffmpeg import run_ffmpeg

#: keyframe spacing of the cached clip = the frames decoded per backward block
GOP = 16
#: the cached clip's quality: x264 crf (12 is visually lossless; the output is encoded at crf 18)
CLIP_CRF = 12


def make_clip(info: MediaInfo, dst: str | os.PathLike, fps: int = 25, start_s: float = 0.0,
              max_frames: int | None = None) -> MediaInfo:
    """Write the template clip: ``info``'s video from ``start_s`` on, re-timed to ``fps`` (nearest frame, ffmpeg's
    ``fps`` filter), at most ``max_frames`` frames, odd sizes padded by one repeated row/column, no audio."""
    if start_s < 0:
        raise MediaError(f"{info.path}: start time must be >= 0 s, got {start_s}")
    if start_s and start_s >= info.duration:
        raise MediaError(f"{info.path}: start time {start_s} s is at or after the video's end ({info.duration:.3f} s)")
    pad_w, pad_h = info.width % 2, info.height % 2
    filters = [f"fps={fps}"]
    if pad_w or pad_h:
        filters += [f"pad={info.width + pad_w}:{info.height + pad_h}:0:0",
                    f"fillborders=right={pad_w}:bottom={pad_h}:mode=smear"]
    args = ["-y"]
    if start_s:
        args += ["-ss", f"{start_s:.6f}"]
    args += ["-i", str(info.path), "-map", "0:v:0", "-an", "-vf", ",".join(filters)]
    if max_frames is not None:
        args += ["-frames:v", str(int(max_frames))]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", str(CLIP_CRF), "-pix_fmt", "yuv420p",
             "-g", str(GOP), "-keyint_min", str(GOP), "-sc_threshold", "0", "-bf", "0", "-fps_mode", "cfr"]
    dst = Path(dst)
    with atomic_path(dst) as tmp:
        run_ffmpeg([*args, "-f", "mp4", tmp], f"{info.path}: cannot re-time the template video to {fps} fps")
    clip = probe(dst)
    if clip.frame_count < 1:
        raise MediaError(f"{info.path}: no video frames from {start_s} s on")
    return clip


def read_block(clip: MediaInfo, start: int, count: int) -> np.ndarray:
    """Frames ``start .. start+count-1`` of a clip made by :func:`make_clip`, as (count, H, W, 3) uint8 RGB:
    seeks to the keyframe at or before ``start`` and decodes forward."""
    out = np.empty((count, clip.height, clip.width, 3), np.uint8)
    got = 0
    container = av.open(str(clip.path))
    try:
        stream = container.streams.video[0]
        base = stream.time_base
        rate = Fraction(clip.fps).limit_denominator(1001)
        container.seek(int(Fraction(start) / rate / base) + (stream.start_time or 0), stream=stream, backward=True)
        for frame in container.decode(stream):
            index = round((frame.pts - (stream.start_time or 0)) * base * rate)
            if index < start:
                continue
            if index >= start + count:
                break
            out[index - start] = frame.to_ndarray(format="rgb24")
            got += 1
    except av.FFmpegError as exc:
        raise MediaError(f"{clip.path}: decoding the template clip failed ({exc})") from None
    finally:
        container.close()
    if got != count:
        raise MediaError(f"{clip.path}: expected frames {start}..{start + count - 1}, decoded {got}")
    return out


def pingpong_index(i: int, length: int) -> int:
    """The template frame shown at output frame ``i``: forward, backward, forward … (period ``2 * length``)."""
    j = i % (2 * length)
    return j if j < length else 2 * length - 1 - j


def pingpong_blocks(clip: MediaInfo, total: int, block: int = GOP) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(template indices (k,), frames (k, H, W, 3) uint8) for output frames ``0 .. total-1`` in order, ``k <= block``:
    forward runs decode sequentially, backward runs decode GOP-aligned blocks and reverse them."""
    length = clip.frame_count
    done = 0
    while done < total:
        phase = (done // length) % 2
        offset = done % length
        take = min(total - done, length - offset)       # frames left in this run
        if phase == 0:
            for start in range(offset, offset + take, block):
                n = min(block, offset + take - start)
                yield np.arange(start, start + n), read_block(clip, start, n)
        else:
            # output frames offset..offset+take-1 of a backward run show template frames L-1-offset down to ...
            hi = length - 1 - offset
            lo = hi - take + 1
            top = hi
            while top >= lo:
                first = max(lo, top - top % block)       # the GOP start at or below `top`
                frames = read_block(clip, first, top - first + 1)[::-1]
                yield np.arange(top, first - 1, -1), np.ascontiguousarray(frames)
                top = first - 1
        done += take
