"""The fast path against the loop oracle (syncnet_python's evaluate) on real media, and its building blocks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _syncnet_oracle import calc_pdist, oracle_evaluate

from syncnet.protocol import (
    ffmpeg_jpeg_frames,
    lse_from_distances,
    mfcc_features,
    offset_distances,
    read_audio_16k,
    score_streams,
    split_jpegs,
)


def _jpegs(n=4):
    import cv2

    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        img = (rng.random((16 + i, 24, 3)) * 255).astype(np.uint8)
        ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 50 + 10 * i])
        assert ok
        out.append(data.tobytes())
    return out


def test_split_jpegs_handles_any_buffer_boundary():
    files = _jpegs()
    stream = b"".join(files)
    for cut in range(0, len(stream), 7):
        buf = bytearray(stream[:cut])
        got, used = split_jpegs(buf)
        buf = buf[used:] + stream[cut:]
        rest, used2 = split_jpegs(buf)
        assert got + rest == files, cut
        assert used2 == len(buf)


def test_jpeg_pipe_equals_ffmpeg_image2_files(tone_clip, tmp_path):
    """The frames we read from the pipe are the JPEGs syncnet_python's ffmpeg command writes, decoded by imread."""
    import cv2

    from talkingface.media.ffmpeg import run_ffmpeg

    run_ffmpeg(["-y", "-i", tone_clip, "-threads", "1", "-f", "image2", tmp_path / "%06d.jpg"], "test")
    files = sorted(tmp_path.glob("*.jpg"))
    ours = np.concatenate(list(ffmpeg_jpeg_frames(tone_clip, chunk=5)))
    assert len(ours) == len(files) == 24
    for i in (0, 11, 23):
        assert np.array_equal(ours[i], cv2.imread(str(files[i])))


def test_mfcc_chunked_equals_whole():
    from python_speech_features import mfcc

    rng = np.random.default_rng(1)
    audio = (rng.standard_normal(16000 * 3 + 123) * 3000).astype(np.int16)
    whole = mfcc(audio, 16000).T.astype(np.float32)
    chunked = mfcc_features(audio, chunk_frames=37)
    assert chunked.shape == whole.shape
    np.testing.assert_allclose(chunked, whole, rtol=1e-6, atol=1e-4)


def test_vectorised_distances_equal_calc_pdist():
    torch.manual_seed(0)
    lip, aud = torch.randn(40, 1024), torch.randn(40, 1024)
    ref = torch.mean(torch.stack(calc_pdist(lip, aud, 15), 1), 1).double().numpy()
    np.testing.assert_allclose(offset_distances(lip, aud, chunk=7), ref, rtol=1e-5)


def test_statistics():
    mdist = np.arange(31, dtype=np.float64)[::-1] + 1.0    # minimum at index 30 -> offset -15
    d, c, off = lse_from_distances(mdist)
    assert (d, c, off) == (1.0, 15.0, -15)


def test_too_short_audio_is_a_clear_error(model):
    from talkingface.errors import MediaError

    frames = [np.zeros((3, 224, 224, 3), np.uint8)]
    with pytest.raises(MediaError, match="at least 6 frames"):
        score_streams(model, frames, np.zeros(640 * 5, np.int16), what="x.mp4")


def _check_same(fast, oracle):
    assert fast.frames == oracle.frames
    assert fast.offset == oracle.offset
    assert abs(fast.lse_d - oracle.lse_d) < 1e-4
    assert abs(fast.lse_c - oracle.lse_c) < 1e-4
    np.testing.assert_allclose(fast.distances, oracle.distances, rtol=1e-5)


@pytest.mark.slow
def test_fast_path_equals_oracle_on_tone_clip(model, tone_clip):
    """Always runs (no speech source needed): synthetic frames with a tone."""
    fast = score_streams(model, ffmpeg_jpeg_frames(tone_clip, size=224, chunk=7), read_audio_16k(tone_clip),
                         batch_size=6)
    oracle = oracle_evaluate(model, tone_clip)
    assert fast.frames == 24 - 5
    _check_same(fast, oracle)
    assert np.ptp(fast.distances) > 0.1     # the structured weights make distances depend on the offset


@pytest.mark.slow
def test_fast_path_equals_oracle_on_speech(model, speech_clip):
    """Real speech and a real face video (limited-range H.264, 256 px -> whole-frame resize)."""
    fast = score_streams(model, ffmpeg_jpeg_frames(speech_clip, size=224), read_audio_16k(speech_clip))
    oracle = oracle_evaluate(model, speech_clip)
    _check_same(fast, oracle)
