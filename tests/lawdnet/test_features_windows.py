"""5-row windows and the one alignment rule between feature rows and 25-fps video frames."""
from __future__ import annotations

import math

import numpy as np
import pytest
from _feature_fixtures import GOLDEN_NPZ

from lawdnet.features import align_rows, audio_windows, dp1_rows, dp2_rows, frame_count


def test_windows_are_edge_padded_rows_i_minus_2_to_i_plus_2():
    feats = np.arange(7 * 29, dtype=np.float32).reshape(7, 29)
    w = audio_windows(feats)
    assert w.shape == (7, 29, 5) and w.dtype == np.float32  # one window per row (DINet's loop makes 6)
    for i in range(7):
        for k in range(5):
            np.testing.assert_array_equal(w[i, :, k], feats[min(max(i + k - 2, 0), 6)])


def test_windows_equal_the_authors():
    arrays = np.load(GOLDEN_NPZ)
    for feats, ref in (("speech16k/dp1", "speech16k/dp1_windows"), ("speech44k_stereo/dp2",
                                                                    "speech44k_stereo/dp2_windows")):
        np.testing.assert_array_equal(audio_windows(arrays[feats]), arrays[ref])


def _dp1_rows_by_framing(n: int) -> int:
    # python_speech_features.framesig: 1 frame up to 400 samples, else 1 + ceil((n - 400) / 160); then [::2], [::2]
    frames = 1 if n <= 400 else 1 + math.ceil((n - 400) / 160)
    return math.ceil(math.ceil(frames / 2) / 2)


def _dp2_rows_by_stft(n: int) -> int:
    frames = 1 + n // 160  # centred STFT, hop 160
    conv = (frames + 2 * 5 - 11) // 2 + 1  # first conv, time stride 2; the second keeps the length
    return math.ceil(conv / 2)


def test_row_counts():
    for n in range(1, 6000):
        assert dp1_rows(n) == _dp1_rows_by_framing(n), n
        assert dp2_rows(n) == _dp2_rows_by_stft(n), n
    arrays = np.load(GOLDEN_NPZ)
    assert arrays["speech16k/dp1"].shape[0] == dp1_rows(72763) == 114
    assert arrays["speech16k/dp2"].shape[0] == dp2_rows(72763) == 114


def test_feature_code_adds_at_most_one_row():
    for n in range(0, 20000, 37):
        frames = frame_count(n, 16000)
        assert dp1_rows(n) - frames in (0, 1) if n else dp1_rows(n) == 0
        assert dp2_rows(n) - frames == 1
    assert frame_count(72763, 16000) == 113 and frame_count(44100 * 2, 44100) == 50


def test_align_rows_cuts_or_repeats_the_last_row():
    feats = np.arange(5 * 29, dtype=np.float32).reshape(5, 29)
    w = audio_windows(feats)
    np.testing.assert_array_equal(align_rows(w, 3), w[:3])  # as the authors' min(frames, rows) truncation
    longer = align_rows(w, 8)
    assert longer.shape == (8, 29, 5)
    np.testing.assert_array_equal(longer[5:], np.repeat(w[-1:], 3, axis=0))
    assert align_rows(feats, 5) is not None and align_rows(feats, 0).shape == (0, 29)
    with pytest.raises(ValueError):
        align_rows(feats[:0], 3)
    with pytest.raises(ValueError):
        audio_windows(np.zeros((0, 29)))
