"""The embedded sample: the evaluation_set layout, deterministic, real speech track, visible blink and mouth motion."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from talkingface.media import VideoReader, probe
from talkingface.sample import mouth_openness, write_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    return out, write_sample(out)


def test_layout_and_streams(sample):
    out, description = sample
    for rel in ("source_self/talk.png", "source_self/nod.png", "gt_self/talk.mp4", "gt_self/nod.mp4",
                "source_cross/mirror.png", "gt_cross/mirror.mp4"):
        assert (out / rel).is_file(), rel
    info = probe(out / "gt_self" / "talk.mp4")
    assert info.fps == 25 and (info.width, info.height) == (256, 256) and info.frame_count == description["frames"]
    assert info.has_audio and abs(info.audio_duration - info.duration) < 0.1
    assert json.loads((out / "sample.json").read_text())["files"] == description["files"]


def test_deterministic(sample, tmp_path):
    _, first = sample
    assert write_sample(tmp_path)["files"] == first["files"]


def test_motion_blink_and_mouth_are_visible(sample):
    out, _ = sample
    with VideoReader(out / "gt_self" / "talk.mp4") as reader:
        frames = np.concatenate(list(reader.chunks(64))).astype(np.float32)
    # head motion: consecutive frames differ, but smoothly (no cuts)
    steps = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    assert steps.min() > 0.1 and steps.max() < 12
    # the source image is the rest pose: close to frame 0 of its clip
    from talkingface.media.images import read_image
    assert np.abs(read_image(out / "source_self" / "talk.png") - frames[0]).mean() < 3


def test_mouth_follows_speech_loudness():
    t = np.arange(16000 * 2) / 16000
    tone = (np.sin(2 * np.pi * 200 * t) * 8000 * (t > 1)).astype(np.int16)  # silent first second
    openness = mouth_openness(tone, 16000, 50)
    assert openness[:20].max() == 0 and openness[30:48].min() > 0.9


def test_cli_writes_sample(tmp_path):
    result = subprocess.run([sys.executable, "-m", "talkingface", "sample", str(tmp_path / "s")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "sample written" in result.stdout and (tmp_path / "s" / "gt_cross" / "mirror.mp4").is_file()
