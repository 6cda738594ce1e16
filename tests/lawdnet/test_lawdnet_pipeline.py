"""The lip-sync pipeline on files: length from the audio, ping-pong, paste geometry, the template cache, streaming.

The generator here is a stand-in that paints its whole crop one colour (the networks have their own golden tests
against the authors' code): then every output pixel is either the template frame's (outside the pasted crop) or
that colour (well inside it), which checks the frame order, the alignment and the paste without a model's noise.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lawdnet.model import LipSyncModel
from lawdnet.pipeline import lip_sync_video
from lawdnet.template import prepare_template
from lawdnet.template_clip import pingpong_index
from talkingface.landmarks import make_backend
from talkingface.media import VideoReader, probe

GREEN = torch.tensor([0.0, 1.0, 0.0])
MOUTH = 64


class Painter(nn.Module):
    """g(source, reference, audio) -> the crop painted GREEN; records the inputs it saw."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    def forward(self, source, reference, audio):
        self.calls.append((source, reference, audio))
        return GREEN.view(1, 3, 1, 1).expand(source.shape[0], 3, *source.shape[-2:]).clone()


def rows_extractor(rows: int):
    """A feature source whose row r is r everywhere (so windows say which rows they hold)."""
    def source(path):
        n = probe(path).audio_duration
        return np.repeat(np.arange(rows, dtype=np.float32)[:, None], 29, axis=1), round(n * 16000), 16000
    return source


@pytest.fixture(scope="module")
def template_video(make_video, tmp_path_factory):
    """12 frames of the sample talking head, frame k carrying its number as the grey level 20 k of a top bar."""
    from talkingface.media import VideoWriter

    path = tmp_path_factory.mktemp("template") / "numbered.mp4"
    with VideoWriter(path, 25) as writer:
        for k, frame in enumerate(VideoReader(make_video.talking_head(frames=12))):
            frame = frame.copy()
            frame[:16] = 20 * k
            writer.write(frame)
    return path


def frame_number(frame: np.ndarray) -> int:
    return int(round(frame[2:14, 8:-8].mean() / 20))


@pytest.fixture(scope="module")
def speech(make_video):
    return make_video.talking_head(frames=30, audio=True)            # 1.2 s of the sample speech


def run(template_video, speech, tmp_path, rows=40, **kw):
    g = Painter()
    model = LipSyncModel(g, mouth=MOUTH, model="lawdnet")
    out = tmp_path / "out.mp4"
    result = lip_sync_video(model, template_video, speech, out, rows_extractor(rows), make_backend("offline"),
                            batch_size=kw.pop("batch_size", 7), **kw)
    return g, out, result


def test_length_follows_audio_and_template_plays_back_and_forth(template_video, speech, tmp_path):
    g, out, result = run(template_video, speech, tmp_path, cache_dir=tmp_path / "cache")
    info = probe(out)
    assert result.frames == info.frame_count == 30 and info.fps == 25 and info.has_audio
    assert abs(info.audio_duration - 1.2) < 0.05
    assert result.template["ping_pong"] and result.template["frames"] == 12
    # the audio windows: frame i sees rows i-2..i+2 (edge-padded), in batches of 7
    audio = torch.cat([c[2] for c in g.calls])
    assert audio.shape == (30, 29, 5)
    expect = np.clip(np.arange(30)[:, None] + np.arange(-2, 3)[None], 0, 39)
    np.testing.assert_array_equal(audio[:, 0, :].numpy(), expect)
    # the template plays forward, backward, forward: DINet's cycle
    got = [frame_number(f) for f in VideoReader(out)]
    assert got == [pingpong_index(i, 12) for i in range(30)]
    assert got[10:15] == [10, 11, 11, 10, 9]


def test_paste_puts_the_crop_where_the_alignment_took_it(template_video, speech, tmp_path):
    g, out, result = run(template_video, speech, tmp_path, max_frames=5, batch_size=5)
    got = np.stack(list(VideoReader(out))).astype(int)
    template = prepare_template(template_video, make_backend("offline"), mouth=MOUTH)
    try:
        src = np.stack(list(VideoReader(template.clip))).astype(int)
        for i in range(5):
            # the crop (104 x 80 aligned pixels) covers 104 * 80 / det(A) frame pixels (A: frame -> crop scale)
            area = 104 * 80 / abs(np.linalg.det(template.matrices[i][:2, :2]))
            green = (got[i][..., 1] > 200) & (got[i][..., 0] < 60) & (got[i][..., 2] < 60)
            assert 0.75 * area < green.sum() < 1.02 * area, (green.sum(), area)   # the interior, not the feather
            unchanged = np.abs(got[i] - src[i]).max(axis=-1) < 40
            assert (green | unchanged).mean() > 0.97                # everything else is the template frame
            # the painted patch sits where the landmarks are: their centre is green
            cx, cy = template.landmarks[i].mean(axis=0).round().astype(int)
            assert green[cy, cx]
    finally:
        template.close()
    assert result.frames == 5


def test_references_and_masked_source(template_video, speech, tmp_path):
    g, _, result = run(template_video, speech, tmp_path, max_frames=3, batch_size=3, seed=7)
    source, reference, _ = g.calls[0]
    assert source.shape == (3, 3, 104, 80) and reference.shape == (3, 15, 104, 80)
    assert float(source.max()) <= 1.0 and float(reference.max()) <= 1.0
    # the mouth region of the source is masked out, the references keep it
    assert float(source[:, :, 40:90, 16:64].mean()) < 0.05 < float(reference[:, :, 40:90, 16:64].mean())
    gen = torch.Generator().manual_seed(7)
    assert result.template["reference_frames"] == torch.randint(0, 3, (5,), generator=gen).tolist()


def test_cache_is_keyed_by_content_and_settings(template_video, make_video, tmp_path):
    backend = make_backend("offline")
    a = prepare_template(template_video, backend, mouth=MOUTH, cache_dir=tmp_path)
    b = prepare_template(template_video, backend, mouth=MOUTH, cache_dir=tmp_path)
    assert not a.cached and b.cached and a.key == b.key
    np.testing.assert_array_equal(a.matrices, b.matrices)
    assert prepare_template(template_video, backend, mouth=128, cache_dir=tmp_path).key != a.key
    assert prepare_template(template_video, backend, mouth=MOUTH, seed=1, cache_dir=tmp_path).key != a.key
    other = make_video.talking_head(frames=13)
    assert prepare_template(other, backend, mouth=MOUTH, cache_dir=tmp_path).key != a.key
    # a damaged entry is rebuilt, not trusted
    (tmp_path / a.key / "matrices.npy").write_bytes(b"garbage")
    c = prepare_template(template_video, backend, mouth=MOUTH, cache_dir=tmp_path)
    assert not c.cached
    np.testing.assert_array_equal(c.matrices, a.matrices)
    assert not list(tmp_path.glob(".*partial*"))


def test_dinet_runs_through_the_same_pipeline(template_video, speech, tmp_path):
    """--model dinet: DINet's released architecture (random weights here) on the same alignment, with DINet's hard
    mouth rectangle (rows [m/2, m/2+m), cols [m/8, m/8+m) zeroed) instead of SmoothSqMask."""
    from lawdnet.loading import random_generator

    seen = []
    net = random_generator("dinet", 0)
    net.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    model = LipSyncModel(net, mouth=MOUTH, model="dinet")
    result = lip_sync_video(model, template_video, speech, tmp_path / "dinet.mp4", rows_extractor(40),
                            make_backend("offline"), batch_size=3, max_frames=3)
    assert result.frames == probe(tmp_path / "dinet.mp4").frame_count == 3
    source = seen[0]
    m = MOUTH
    assert float(source[:, :, m // 2:m // 2 + m, m // 8:m // 8 + m].abs().max()) == 0
    assert float(source[:, :, :m // 2].mean()) > 0.05                        # the upper face is kept
