"""dp1 (DeepSpeech v0.1.0 TF graph) equals the authors' utils/deep_speech.py on the golden inputs and tiny graph."""
from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest
from _feature_fixtures import (
    GOLDEN_JSON,
    GOLDEN_NPZ,
    GRAPH,
    MP3,
    VARIANTS,
    samples_sha256,
    tiny_graph_bytes,
    write_variant,
)

from lawdnet.features import Dp1Extractor, audio_windows, deepspeech_dp1, dp1_rows, dp1_signal, read_pcm
from lawdnet.features.dp1 import network_input
from talkingface.errors import KitError, MediaError, WeightsError

# not importorskip: TensorFlow must be imported by lawdnet.features.dp1 (it imports triton first, see there)
pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                                reason="dp1 needs the tf extra (pip install talkingface-kit[tf])")
TOL = 1e-4


@pytest.fixture(scope="module")
def golden():
    return dict(np.load(GOLDEN_NPZ)), json.loads(GOLDEN_JSON.read_text())


@pytest.fixture(scope="module")
def extractor():
    ext = Dp1Extractor(GRAPH)
    yield ext
    ext.close()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dp1_inputs")
    paths = {name: write_variant(name, folder) for name in VARIANTS}
    paths["speech_mp3"] = MP3
    return paths


@pytest.mark.parametrize("name", [*VARIANTS, "speech_mp3"])
def test_dp1_equals_authors(name, golden, extractor, inputs):
    arrays, doc = golden
    rate, samples = read_pcm(inputs[name])
    meta = doc["inputs"]["signals"][name]
    assert samples_sha256(samples) == meta["sha256"], "input differs from the golden's (scipy/ffmpeg drift?)"
    signal = dp1_signal(rate, samples)
    # first channel, resampy on float64, .astype(int16) truncation: bit-exact 16 kHz signal
    assert samples_sha256(signal) == meta["dp1_signal_sha256"]
    feats = extractor(signal)
    ref = arrays[f"{name}/dp1"]
    assert feats.dtype == np.float32 and feats.shape == ref.shape == (dp1_rows(signal.size), 29)
    assert np.isfinite(ref).all()
    assert np.abs(feats - ref).max() <= TOL


def test_one_call_api_and_windows(golden, inputs):
    arrays, _ = golden
    feats = deepspeech_dp1(inputs["speech16k"], GRAPH)
    np.testing.assert_allclose(feats, arrays["speech16k/dp1"], atol=TOL, rtol=0)
    windows = audio_windows(feats)
    ref = arrays["speech16k/dp1_windows"]  # audio_processing.extract_deepspeech
    assert windows.shape == ref.shape == (feats.shape[0], 29, 5)
    assert np.abs(windows - ref).max() <= TOL


def test_normalisation_is_one_scalar_over_the_matrix(inputs):
    signal = dp1_signal(*read_pcm(inputs["speech16k"]))
    x = network_input(signal)
    assert x.shape[1] == 494
    assert abs(x.mean()) < 1e-9 and abs(x.std() - 1) < 1e-9
    assert np.abs(x.mean(axis=0)).max() > 0.1, "per-dimension normalisation would zero every column mean"


def test_first_channel_and_truncation():
    rng = np.random.default_rng(0)
    left = rng.integers(-20000, 20000, 4410).astype(np.int16)
    stereo = np.stack([left, left[::-1]], axis=1)
    np.testing.assert_array_equal(dp1_signal(44100, stereo), dp1_signal(44100, left))
    import resampy

    exact = resampy.resample(left.astype(np.float64), sr_orig=44100, sr_new=16000)
    np.testing.assert_array_equal(dp1_signal(44100, left), np.trunc(exact).astype(np.int16))
    assert not np.array_equal(dp1_signal(44100, left), np.round(exact).astype(np.int16))


def _write_wav(path, samples, rate=16000):
    from scipy.io import wavfile

    wavfile.write(path, rate, samples)
    return path


def test_zero_length_audio_is_one_error_line(tmp_path):
    wav = _write_wav(tmp_path / "empty.wav", np.zeros(0, dtype=np.int16))
    with pytest.raises(MediaError, match="0 samples") as err:
        deepspeech_dp1(wav, GRAPH)
    assert "\n" not in str(err.value)


def test_silent_audio_gives_the_authors_finite_numbers(golden, extractor):
    # all-zero audio: energies floor at eps, the MFCC matrix is not constant, so the authors' code is finite
    arrays, _ = golden
    feats = extractor(np.zeros(8000, dtype=np.int16))
    assert np.isfinite(feats).all()
    np.testing.assert_allclose(feats, arrays["silent16k/dp1"], atol=TOL, rtol=0)


@pytest.mark.parametrize("kind", ["other_names", "other_scope"])
def test_graph_of_another_deepspeech_version(tmp_path, kind):
    data = tiny_graph_bytes(logits_name="output") if kind == "other_names" else tiny_graph_bytes(scope="v2")
    path = tmp_path / "output_graph.pb"
    path.write_bytes(data)
    with pytest.raises(WeightsError, match="not the DeepSpeech v0.1.0 graph") as err:
        Dp1Extractor(path)
    assert "\n" not in str(err.value) and "deepspeech/logits:0" in str(err.value)


@pytest.mark.parametrize("cut", ["empty", "truncated", "text"])
def test_bad_graph_files(tmp_path, cut):
    data = GRAPH.read_bytes()
    path = tmp_path / "output_graph.pb"
    path.write_bytes({"empty": b"", "truncated": data[: len(data) // 3], "text": b"<html>sign in</html>"}[cut])
    with pytest.raises(WeightsError) as err:
        Dp1Extractor(path)
    assert "\n" not in str(err.value)
    with pytest.raises(WeightsError, match="missing"):
        Dp1Extractor(tmp_path / "absent.pb")


def test_without_tensorflow_one_line_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # import tensorflow -> ImportError
    with pytest.raises(KitError, match=r"talkingface-kit\[tf\]") as err:
        Dp1Extractor(GRAPH)
    assert "\n" not in str(err.value)


def test_extractor_rejects_non_int16():
    ext_input = np.zeros(100, dtype=np.float32)
    with pytest.raises(ValueError, match="int16"):
        Dp1Extractor.__call__(object.__new__(Dp1Extractor), ext_input)


@pytest.mark.parametrize("seconds", [0.01, 0.025, 0.0251, 59.99, 60.0, 60.0101, 125.3])
def test_mfcc_in_blocks_equals_python_speech_features(seconds):
    """The MFCC of long audio is computed in 60 s blocks of whole frames: one mfcc() call's numbers (bit for bit up
    to 60 s; beyond, the matrix products of other sizes round a few values differently, ~1e-13 relative)."""
    from python_speech_features import mfcc

    from lawdnet.features.dp1 import mfcc_frames

    rng = np.random.default_rng(int(seconds * 1000))
    signal = (rng.standard_normal(round(seconds * 16000)) * 3000).astype(np.int16)
    blocks, whole = mfcc_frames(signal), mfcc(signal=signal, samplerate=16000, numcep=26)
    if seconds <= 60:
        np.testing.assert_array_equal(blocks, whole)
    np.testing.assert_allclose(blocks, whole, rtol=1e-11, atol=1e-11)


def test_long_audio_runs_through_the_graph_in_windows(extractor, monkeypatch):
    """Over 60 s the graph runs on 40 s windows with 10 s of context each side: rows line up with one pass."""
    import lawdnet.features.dp1 as dp1

    rng = np.random.default_rng(3)
    t = np.arange(16000 * 95) / 16000
    signal = (8000 * np.sin(2 * np.pi * 200 * t * (1 + 0.3 * np.sin(0.7 * t))) * (rng.random(t.size) > 0.2)
              + 300 * rng.standard_normal(t.size)).astype(np.int16)
    windowed = extractor(signal)
    monkeypatch.setattr(dp1, "CORE", 10 ** 9)
    whole = extractor(signal)
    assert windowed.shape == whole.shape == (dp1_rows(signal.size), 29)
    assert np.abs(windowed - whole).max() <= 1e-5
