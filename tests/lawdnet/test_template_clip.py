"""The template clip: 25 fps re-timing, GOP-aligned random access, and the ping-pong order (DINet's rule)."""
from __future__ import annotations

import numpy as np
import pytest

from lawdnet.template_clip import GOP, make_clip, pingpong_blocks, pingpong_index, read_block
from talkingface.errors import MediaError
from talkingface.media import VideoReader, probe


def dinet_cycle(length: int, total: int) -> list[int]:
    """DINet inference.py: ``video_frame_path_list_cycle = list + list[::-1]``, indexed modulo its length."""
    cycle = list(range(length)) + list(range(length))[::-1]
    return [cycle[i % len(cycle)] for i in range(total)]


@pytest.mark.parametrize("length,total", [(1, 5), (2, 9), (5, 23), (16, 40), (37, 200)])
def test_pingpong_index_is_dinets_cycle(length, total):
    assert [pingpong_index(i, length) for i in range(total)] == dinet_cycle(length, total)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


@pytest.fixture(scope="module")
def clip(make_video, tmp_path_factory):
    video = make_video(frames=37, size=(64, 48), fps=25, name="tpl_clip_src")
    return make_clip(probe(video), tmp_path_factory.mktemp("clip") / "clip.mp4")


def test_clip_keeps_frames_and_reads_any_block(clip, make_video):
    assert clip.frame_count == 37 and abs(clip.fps - 25) < 1e-6 and clip.size == (64, 48)
    every = np.stack(list(VideoReader(clip)))
    for start, count in [(0, 5), (GOP, 3), (GOP + 5, 7), (30, 7), (36, 1)]:
        block = read_block(clip, start, count)
        np.testing.assert_array_equal(block, every[start:start + count])   # seeking = sequential decoding
    source = np.stack(list(VideoReader(make_video(frames=37, size=(64, 48), fps=25, name="tpl_clip_src"))))
    for i in (0, 17, 36):                               # the same frames (colour too), one more x264 generation
        assert psnr(every[i], source[i]) > 40 > psnr(every[i], source[i - 1])
    with pytest.raises(MediaError, match="expected frames"):
        read_block(clip, 35, 5)


def test_pingpong_blocks_follow_the_cycle(clip):
    every = np.stack(list(VideoReader(clip)))
    total = 2 * 37 + 20
    blocks, frames = zip(*pingpong_blocks(clip, total), strict=True)
    assert max(len(b) for b in blocks) <= GOP                      # never more than one GOP decoded at once
    indices = np.concatenate(blocks)
    assert indices.tolist() == dinet_cycle(37, total)
    np.testing.assert_array_equal(np.concatenate(frames), every[indices])


def test_retiming_and_start_and_limit(make_video, tmp_path):
    src = make_video(frames=60, size=(64, 48), fps=50, name="tpl_clip_50fps")     # 1.2 s at 50 fps
    clip = make_clip(probe(src), tmp_path / "a.mp4")
    assert clip.frame_count == 30 and abs(clip.fps - 25) < 1e-6
    every, source = list(VideoReader(clip)), list(VideoReader(src))
    assert psnr(every[10], source[20]) > 40 > psnr(every[10], source[22])     # frame i at 25 fps = frame 2i at 50
    part = make_clip(probe(src), tmp_path / "b.mp4", start_s=0.4, max_frames=8)
    assert part.frame_count == 8
    assert psnr(next(iter(VideoReader(part))), source[20]) > 40
    with pytest.raises(MediaError, match="start time"):
        make_clip(probe(src), tmp_path / "c.mp4", start_s=5.0)

