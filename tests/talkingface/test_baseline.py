"""The static baseline: source held still for the driving clip's length, with its fps and audio; resumable."""
from __future__ import annotations

import numpy as np
import pytest

from talkingface.baseline import static_source_baseline
from talkingface.errors import MediaError
from talkingface.media import VideoReader, probe
from talkingface.media.images import write_image


def test_source_held_for_the_driving_clip(tmp_path, make_video):
    driving = make_video(frames=12, size=(64, 48), fps=25, audio=True)
    (tmp_path / "src").mkdir()
    (tmp_path / "drv").mkdir()
    source = np.full((96, 128, 3), (200, 40, 90), np.uint8)  # other size: resized to the driving frame size
    write_image(tmp_path / "src" / "a.png", source)
    (tmp_path / "drv" / "a.mp4").write_bytes(driving.read_bytes())
    write_image(tmp_path / "src" / "unpaired.png", source)

    [out] = static_source_baseline(tmp_path / "src", tmp_path / "drv", tmp_path / "gen")
    info = probe(out)
    assert out.name == "a.mp4" and info.frame_count == 12 and (info.width, info.height) == (64, 48)
    assert info.has_audio and info.fps == 25
    with VideoReader(out) as reader:
        frames = np.concatenate(list(reader.chunks(8)))
    assert np.abs(frames.astype(int) - (200, 40, 90)).max() < 8

    stamp = out.stat().st_mtime_ns
    static_source_baseline(tmp_path / "src", tmp_path / "drv", tmp_path / "gen")
    assert out.stat().st_mtime_ns == stamp  # kept, not redone


def test_clear_errors(tmp_path):
    with pytest.raises(MediaError, match="folder not found"):
        static_source_baseline(tmp_path / "none", tmp_path, tmp_path / "gen")
    (tmp_path / "s").mkdir()
    with pytest.raises(MediaError, match="share a file name"):
        static_source_baseline(tmp_path / "s", tmp_path / "s", tmp_path / "gen")
