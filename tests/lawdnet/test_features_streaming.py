"""DeepSpeech features of long audio read from the wav a range at a time (lawdnet.features.samples): the same rows as
the authors' one pass over the whole signal in memory, while no read spans more than one network window."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from _feature_fixtures import CKPT, GRAPH
from scipy.io import wavfile

import lawdnet.features.dp1 as dp1
import lawdnet.features.dp2 as dp2
from lawdnet.features import Dp2Extractor, dp1_signal, dp2_signal, read_pcm
from lawdnet.features.samples import ArraySamples, WavSamples, open_samples
from lawdnet.loading import FeatureSource

SECONDS = 95                                    # over the 60 s one pass: three windows of 40 s


def _speech(seconds: float, seed: int, channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(round(16000 * seconds)) / 16000
    voice = 9000 * np.sin(2 * np.pi * 190 * t * (1 + 0.25 * np.sin(0.6 * t))) * (rng.random(t.size) > 0.25)
    x = np.clip(voice + 400 * rng.standard_normal(t.size), -32768, 32767).astype(np.int16)
    return x if channels == 1 else np.stack([x, x[::-1] // 3], axis=1)


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("streaming") / "long.wav"
    wavfile.write(path, 16000, _speech(SECONDS, 11))
    return path


class _Spy:
    """Wraps a sample source; records the span of every read."""

    def __init__(self, source):
        self.source, self.size, self.spans = source, source.size, []

    def read(self, start, stop):
        self.spans.append(stop - start)
        return self.source.read(start, stop)


@pytest.mark.parametrize("kind", ["dp1", "dp2"])
@pytest.mark.parametrize("channels", [1, 2])
def test_wav_ranges_equal_the_whole_signal(kind, channels, tmp_path):
    path = tmp_path / "a.wav"
    wavfile.write(path, 16000, _speech(3.3, channels, channels))
    source, rate = open_samples(path, kind)
    assert isinstance(source, WavSamples) and rate == 16000
    whole = (dp1_signal if kind == "dp1" else dp2_signal)(*read_pcm(path))
    with source:
        assert source.size == len(whole) and source.read(0, source.size).dtype == whole.dtype
        for start, stop in [(0, source.size), (-500, 123), (1000, 1001), (source.size - 7, source.size + 40)]:
            want = np.zeros(stop - start, whole.dtype)
            lo, hi = max(start, 0), min(stop, source.size)
            want[lo - start:hi - start] = whole[lo:hi]
            np.testing.assert_array_equal(source.read(start, stop), want)
            np.testing.assert_array_equal(ArraySamples(whole).read(start, stop), want)


def test_other_audio_is_read_whole(tmp_path):
    path = tmp_path / "a.wav"
    wavfile.write(path, 8000, _speech(1.0, 2))
    source, rate = open_samples(path, "dp2")
    assert isinstance(source, ArraySamples) and rate == 8000 and source.size == 32000     # 2 s at 16 kHz


def test_dp2_rows_from_the_file_equal_one_pass_and_reads_stay_bounded(long_wav, monkeypatch):
    extractor = Dp2Extractor(CKPT)
    with WavSamples(long_wav, "dp2") as wav:
        spy = _Spy(wav)
        blocks = list(extractor.rows(spy))
    streamed = np.concatenate(blocks)
    hop, n_fft = 160, 320
    assert len(blocks) == 3 and max(spy.spans) <= (dp2.CORE + 2 * dp2.CONTEXT) * hop + n_fft
    monkeypatch.setattr(dp2, "CORE", 10 ** 9)                    # the authors' one pass over the whole signal
    whole = extractor(dp2_signal(*read_pcm(long_wav)))
    assert streamed.shape == whole.shape == (SECONDS * 25 + 1, 29)
    assert np.abs(streamed - whole).max() <= 1e-5


def test_dp2_statistics_of_the_streamed_spectrogram_equal_torch(long_wav):
    """The first pass's mean and unbiased std (float64, block by block) are torch's of the whole float32 matrix."""
    signal = dp2_signal(*read_pcm(long_wav))
    spect = dp2._StreamedSpectrogram(ArraySamples(signal), 16000, 0.02, 0.01, "hamming")
    raw = spect._raw(0, spect.frames)
    import torch

    whole = torch.from_numpy(raw)
    assert raw.shape[1] == spect.frames == 1 + signal.size // 160
    assert abs(float(spect.mean) - float(whole.mean())) <= 2e-7 * abs(float(whole.mean()))
    assert abs(float(spect.std) - float(whole.std())) <= 2e-7 * float(whole.std())
    np.testing.assert_array_equal(spect._raw(100, 5000), raw[:, 100:5000])   # any frame range: the same numbers


def test_feature_source_streams_rows_block_by_block(long_wav):
    from lawdnet.loading import load_extractor

    source = load_extractor("dp2", "cpu", None, random_seed=0)
    blocks = []
    n16, rate = source.stream(long_wav, blocks.append)
    assert (n16, rate) == (SECONDS * 16000, 16000) and len(blocks) == 3
    feats, n, _ = source(long_wav)
    np.testing.assert_array_equal(np.concatenate(blocks), feats)
    assert isinstance(source, FeatureSource) and n == n16


needs_tf = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                              reason="dp1 needs the tf extra (pip install talkingface-kit[tf])")


def test_mfcc_blocks_from_the_file_equal_python_speech_features(long_wav):
    """Blocks of whole frames, each pre-emphasised with the sample before it: one mfcc() call over the whole signal
    (to ~1e-13 relative beyond 60 s: its matrix products have other sizes)."""
    from python_speech_features import mfcc

    with WavSamples(long_wav, "dp1") as wav:
        streamed = np.concatenate(list(dp1.mfcc_blocks(wav)))
    signal = dp1_signal(*read_pcm(long_wav))
    np.testing.assert_allclose(streamed, mfcc(signal=signal, samplerate=16000, numcep=26), rtol=1e-11, atol=1e-11)
    np.testing.assert_array_equal(streamed, dp1.mfcc_frames(signal))


@needs_tf
def test_dp1_rows_from_the_file_equal_one_pass_and_reads_stay_bounded(long_wav, monkeypatch):
    extractor = dp1.Dp1Extractor(GRAPH)
    try:
        with WavSamples(long_wav, "dp1") as wav:
            spy = _Spy(wav)
            blocks = list(extractor.rows(spy))
        assert len(blocks) == 3 and max(spy.spans) <= dp1.MFCC_BLOCK * 160 + 400
        streamed = np.concatenate(blocks)
        monkeypatch.setattr(dp1, "CORE", 10 ** 9)
        whole = extractor(dp1_signal(*read_pcm(long_wav)))
    finally:
        extractor.close()
    assert streamed.shape == whole.shape
    assert np.abs(streamed - whole).max() <= 1e-5


def test_dp1_input_statistics_equal_numpy(long_wav):
    signal = dp1_signal(*read_pcm(long_wav))
    x = dp1._StreamedInput(ArraySamples(signal))
    feats = dp1.mfcc_frames(signal)[::2]
    whole = dp1._windows(dp1._pad(feats), 0, len(feats))
    assert x.rows == len(feats)
    assert x.mean == pytest.approx(np.mean(whole), rel=1e-12) and x.std == pytest.approx(np.std(whole), rel=1e-12)
    np.testing.assert_allclose(x(1234, 4321), (whole[1234:4321] - np.mean(whole)) / np.std(whole), rtol=1e-12,
                               atol=1e-12)
