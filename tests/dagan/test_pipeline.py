"""dagan.pipeline on a tiny randomly initialised DaGAN saved in the authors' formats: streaming == whole-video
animation, the best-frame pass == the authors' forward/backward halves, find_best_frame's rule, one probe and at most
two decoding passes per driving video, random models (dagan.random_weights)."""
from __future__ import annotations

import logging

import numpy as np
import pytest

import dagan
from dagan import pipeline, random_weights
from talkingface.landmarks import LandmarkBackend
from talkingface.landmarks.offline import OfflineBackend, mean_shape
from talkingface.media import VideoReader


@pytest.fixture(scope="module")
def model(tiny_model):
    """tests/dagan/conftest.py's tiny model: randomised tiny networks, frames resized to 64 px, batches of 3."""
    return tiny_model


def same_nets(model, batch_size):
    return dagan.DaganModel(model.generator, model.kp_detector, model.depth_encoder, model.depth_decoder,
                            model.config, batch_size=batch_size, frame_size=model.size)


@pytest.fixture(scope="module")
def source(make_video):
    return make_video.frame(7, 90, 70)        # a non-square source of another size than the frames


@pytest.mark.slow
def test_random_model_files_load_strictly_and_are_reproducible(tmp_path):
    files = random_weights.write_random_model(tmp_path, seed=3, tiny=True)
    for path in (files.checkpoint, files.depth_encoder, files.depth_decoder, files.config):
        assert path.is_file()
    m = dagan.load_model(files.checkpoint, files.depth_encoder, files.depth_decoder, config=files.config, kp_num=15)
    assert m.config.model_params.generator_params.block_expansion == 8
    again = random_weights.random_model(seed=3, tiny=True)        # same seed, written and loaded again
    for a, b in zip(m.generator.state_dict().values(), again.generator.state_dict().values(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy())
    assert "RANDOM WEIGHTS" in random_weights.RANDOM_LABEL


def test_randomise_weights_is_seeded_and_conditioned():
    import torch

    def net(seed):
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
        return random_weights.randomise_weights(net, seed)

    a, b, c = net(1), net(1), net(2)
    assert torch.equal(a[0].weight, b[0].weight) and not torch.equal(a[0].weight, c[0].weight)
    assert not a.training and a[1].running_var.min() >= 0.5


@pytest.mark.slow
def test_streaming_chunks_equal_whole_video(model, source, make_video):
    """Chunks of 4 over a 10-frame video (decoded from an mp4, resized on the prefetch thread) give what
    model.animate gives on the whole video in one batch."""
    path = make_video(frames=10, size=(64, 48))
    frames = np.stack(list(VideoReader(path)))
    whole = same_nets(model, 16).animate(source, frames, relative=True, adapt_scale=True)
    src = model.prepare_source(source)
    init = model.driving_keypoints(frames[0])
    with VideoReader(path) as reader:
        blocks = list(pipeline.animate_frames(model, src, reader.chunks(4), init, relative=True, adapt_scale=True))
    assert [len(b) for b in blocks] == [4, 4, 2]
    streamed = np.concatenate(blocks)
    assert streamed.shape == (10, model.size, model.size, 3) and streamed.dtype == np.float32
    assert 0.0 <= streamed.min() and streamed.max() <= 1.0
    assert streamed.std() > 0.05                  # not a constant image: the comparison means something
    np.testing.assert_allclose(streamed, whole, atol=1e-5)


@pytest.mark.slow
def test_anchor_frame_pass_equals_authors_forward_backward_halves(model, source, make_video):
    """The authors animate frames best..end and best..0 (reversed), each relative to its first frame, and join
    them; one forward pass relative to frame `best` gives the same frames."""
    frames = np.stack([make_video.frame(i * 3, 64, 48) for i in range(4)])
    best = 1
    forward = model.animate(source, frames[best:], relative=True, adapt_scale=True)
    backward = model.animate(source, frames[:best + 1][::-1], relative=True, adapt_scale=True)
    authors = np.concatenate([backward[::-1], forward[1:]])
    src = model.prepare_source(source)
    init = model.driving_keypoints(frames[best])
    ours = np.concatenate(list(pipeline.animate_frames(model, src, [frames[:3], frames[3:]], init)))
    np.testing.assert_allclose(ours, authors, atol=1e-5)


class ListedLandmarks(LandmarkBackend):
    """Landmarks given per frame (by an integer tag in the frame's first pixel) — to check the selection rule."""

    name = "listed"

    def __init__(self, table):
        self.table = table

    def detect(self, frame):
        return self.table[int(frame[0, 0, 0])]


def test_find_best_frame_rule_is_the_authors():
    shape = mean_shape().astype(np.float64) * 100
    wide = shape * [1.3, 1.0]
    tilt = np.radians(15)
    rotated = shape @ np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])
    table = {0: shape * 0.5 + 40, 1: wide, 2: None, 3: rotated * 3 + 7, 4: None}

    def frame(tag, h=256, w=256):
        f = np.zeros((h, w, 3), np.uint8)
        f[0, 0, 0] = tag
        return f

    backend = ListedLandmarks(table)
    # position and scale do not matter; shape and rotation do; frames without a face are skipped
    assert pipeline.find_best_frame(frame(3), [frame(t) for t in (0, 1, 2, 4)], backend) == 0
    assert pipeline.find_best_frame(frame(3), [frame(t) for t in (2, 1, 3)], backend) == 2
    assert pipeline.find_best_frame(frame(1), [frame(0), frame(1)], backend) == 1
    # landmarks are compared in the 256x256 square frames are resized to: a frame 1.3x wider than tall squashes
    # its face back to the template's proportions (the source is square)
    assert pipeline.find_best_frame(frame(0), [frame(1, 256, int(256 * 1.3)), frame(3)], backend) == 0
    # no face in the source, or in every driving frame -> None (callers fall back to frame 0)
    assert pipeline.find_best_frame(frame(2), [frame(0), frame(1)], backend) is None
    assert pipeline.find_best_frame(frame(0), [frame(2), frame(4)], backend) is None


@pytest.mark.slow
def test_animate_video_falls_back_to_frame_zero_without_a_face(model, source, make_video, tmp_path, caplog):
    path = make_video(frames=3, size=(64, 48))
    with caplog.at_level(logging.WARNING, logger="dagan"):
        result = pipeline.animate_video(model, source, path, tmp_path / "out.mp4", landmarks=OfflineBackend(),
                                        progress=False)
    assert "no face found" in caplog.text
    assert result.anchor_frame == 0 and result.anchor_reason.startswith("fallback")
    assert result.frames == 3 and (tmp_path / "out.mp4").is_file()


class ScriptedLandmarks(LandmarkBackend):
    """A face in every frame; driving frame ``best`` has the source's shape, the others are ever wider."""

    name = "scripted"

    def __init__(self, best):
        self.best, self.shape = best, mean_shape().astype(np.float64) * 100 + 60

    def detect(self, frame):
        return self.shape

    def detect_video(self, frames):
        for i, _ in enumerate(frames):
            yield self.shape if i == self.best else self.shape * [1.2 + 0.1 * i, 1.0]


@pytest.mark.slow
def test_best_frame_search_keeps_the_anchor_pixels_it_saw(model, source, make_video, tmp_path, media_counts):
    """The search is one decoding pass and the animation the second: the anchor's pixels are not decoded again,
    and they are the right frame (same video as with --best_frame 2). Frame 0 comes from the first chunk."""
    path = make_video(frames=5, size=(64, 48))
    found = pipeline.animate_video(model, source, path, tmp_path / "found.mp4", landmarks=ScriptedLandmarks(2),
                                   progress=False)
    assert (found.anchor_frame, found.anchor_reason) == (2, "best frame (scripted)")
    assert media_counts["probe"] == [path.name] and media_counts["decode"] == [path.name] * 2
    assert media_counts["open"] == [path.name] * 3                  # PyAV opened it for the probe and two passes
    with VideoReader(path) as reader:
        anchor = reader.frame_at(2)
    assert pipeline.best_driving_frame(source, VideoReader(path), ScriptedLandmarks(2))[1].tobytes() == \
        anchor.tobytes()
    given = pipeline.animate_video(model, source, path, tmp_path / "given.mp4", best_frame=2, progress=False)
    assert given.anchor_frame == 2
    np.testing.assert_array_equal(np.stack(list(VideoReader(tmp_path / "found.mp4"))),
                                  np.stack(list(VideoReader(tmp_path / "given.mp4"))))
    for counts in media_counts.values():
        counts.clear()
    with VideoReader(path) as reader:
        first = pipeline.animate_video(model, source, reader, tmp_path / "first.mp4", progress=False)
    assert first.anchor_frame == 0 and first.frames == 5
    assert media_counts["probe"] == [path.name] and media_counts["decode"] == [path.name]
