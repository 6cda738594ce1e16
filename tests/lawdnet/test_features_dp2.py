"""dp2 (deepspeech.pytorch) equals the authors' extract_deepspeech_pytorch2.py (fp32) on the golden inputs."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from _feature_fixtures import CKPT, GOLDEN_JSON, GOLDEN_NPZ, MP3, VARIANTS, samples_sha256, write_variant

from lawdnet.features import Dp2Extractor, audio_windows, deepspeech_dp2, dp2_rows, dp2_signal, read_pcm, spectrogram
from lawdnet.features.dp2_model import read_checkpoint
from talkingface.errors import MediaError, WeightsError

TOL = 1e-4
SPEECH = [name for name in VARIANTS if not name.startswith("silent")] + ["speech_mp3"]


@pytest.fixture(scope="module")
def golden():
    return dict(np.load(GOLDEN_NPZ)), json.loads(GOLDEN_JSON.read_text())


@pytest.fixture(scope="module")
def extractor():
    return Dp2Extractor(CKPT)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dp2_inputs")
    paths = {name: write_variant(name, folder) for name in VARIANTS}
    paths["speech_mp3"] = MP3
    return paths


@pytest.mark.parametrize("name", SPEECH)
def test_dp2_equals_authors(name, golden, extractor, inputs):
    arrays, doc = golden
    rate, samples = read_pcm(inputs[name])
    meta = doc["inputs"]["signals"][name]
    assert samples_sha256(samples) == meta["sha256"], "input differs from the golden's (scipy/ffmpeg drift?)"
    signal = dp2_signal(rate, samples)
    assert samples_sha256(signal) == meta["dp2_signal_sha256"]
    feats = extractor(signal)
    ref = arrays[f"{name}/dp2"]
    assert feats.dtype == np.float32 and feats.shape == ref.shape == (dp2_rows(meta["n16"]), 29)
    assert np.abs(feats - ref).max() <= TOL


def test_one_call_api_and_windows(golden, inputs):
    arrays, _ = golden
    feats = deepspeech_dp2(inputs["speech44k_stereo"], CKPT)
    np.testing.assert_allclose(feats, arrays["speech44k_stereo/dp2"], atol=TOL, rtol=0)
    ref = arrays["speech44k_stereo/dp2_windows"]  # transcribe_and_process_audio
    assert np.abs(audio_windows(feats) - ref).max() <= TOL


def test_channels_as_the_authors():
    rng = np.random.default_rng(1)
    left = rng.integers(-20000, 20000, 16000).astype(np.int16)
    stereo = np.stack([left, rng.integers(-20000, 20000, 16000).astype(np.int16)], axis=1)
    # 16 kHz: torchaudio reads the file as it is and averages the channels
    np.testing.assert_array_equal(dp2_signal(16000, stereo), (stereo / np.float32(32768)).mean(1, dtype=np.float32))
    # other rates: first channel, resampled, written as int16 (truncation), read back / 32768
    out = dp2_signal(44100, np.stack([left, left[::-1]], axis=1))
    np.testing.assert_array_equal(out, dp2_signal(44100, left))
    assert np.all(out * 32768 == np.round(out * 32768))


def test_spectrogram_protocol():
    rng = np.random.default_rng(2)
    y = rng.uniform(-0.5, 0.5, 4000).astype(np.float32)
    spect = spectrogram(y)
    assert spect.shape == (161, 1 + 4000 // 160)
    assert abs(float(spect.mean())) < 1e-5 and abs(float(spect.std()) - 1) < 1e-5  # one mean, unbiased std
    assert float(spect.mean(dim=1).abs().max()) > 0.1  # not per frequency
    assert not torch.allclose(spect, spectrogram(y, pad_mode="reflect"))  # librosa >= 0.10 pads with zeros


def test_checkpoint_settings_come_from_the_file(extractor):
    cfg = extractor.config
    assert (cfg.hidden_size, cfg.hidden_layers, cfg.rnn_type, cfg.bidirectional) == (12, 2, "lstm", True)
    assert len(cfg.labels) == 29 and cfg.labels[0] == "_" and cfg.window == "hamming"
    assert (cfg.sample_rate, cfg.window_size, cfg.window_stride) == (16000, 0.02, 0.01)
    assert Dp2Extractor(CKPT, "cpu", autocast=True).autocast is False  # fp16 autocast only on CUDA


def test_silent_and_empty_audio_are_one_error_line(golden, extractor, tmp_path):
    arrays, _ = golden
    assert np.isnan(arrays["silent16k/dp2"]).all()  # what the authors' code returns
    with pytest.raises(MediaError, match="silent") as err:
        extractor(np.zeros(8000, dtype=np.int16))
    assert "\n" not in str(err.value)
    from scipy.io import wavfile

    wavfile.write(tmp_path / "empty.wav", 16000, np.zeros(0, dtype=np.int16))
    with pytest.raises(MediaError, match="0 samples"):
        deepspeech_dp2(tmp_path / "empty.wav", CKPT)


def _plain_checkpoint():
    ckpt = read_checkpoint(CKPT)
    hp = {"labels": list("_'ABCDEFGHIJKLMNOPQRSTUVWXYZ "), "model_cfg": {"hidden_size": 12, "hidden_layers": 2},
          "spect_cfg": {"sample_rate": 16000, "window_size": 0.02, "window_stride": 0.01, "window": "hamming"}}
    return {"state_dict": dict(ckpt["state_dict"]), "hyper_parameters": hp}


class _Evil:
    def __reduce__(self):
        return os.system, ("echo pwned",)


@pytest.mark.parametrize("case", ["truncated", "empty", "plain_state_dict", "missing_key", "code", "metrics"])
def test_bad_checkpoints_are_one_error_line(tmp_path, case):
    path = tmp_path / "bad.ckpt"
    if case == "truncated":
        data = CKPT.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "plain_state_dict":
        torch.save(_plain_checkpoint()["state_dict"], path)
    elif case == "missing_key":
        ckpt = _plain_checkpoint()
        del ckpt["state_dict"]["fc.0.module.1.weight"]
        torch.save(ckpt, path)
    elif case == "code":
        torch.save({"state_dict": {}, "hyper_parameters": _Evil()}, path)
    else:  # torchmetrics counters stored with the weights are not network state: accepted
        ckpt = _plain_checkpoint()
        ckpt["state_dict"]["wer.wer"] = torch.tensor(0)
        torch.save(ckpt, path)
        assert Dp2Extractor(path).config.hidden_size == 12
        return
    with pytest.raises(WeightsError) as err:
        Dp2Extractor(path)
    assert "\n" not in str(err.value)
    if case == "code":
        assert "refused global" in str(err.value) and "system" in str(err.value)
    if case == "missing_key":
        assert "fc.0.module.1.weight" in str(err.value)


def test_resampling_does_not_depend_on_what_ran_before(golden, inputs):
    """resampy's numba loop, once compiled for float64 (dp1), would also serve int16 input (dp2) and change its
    last bits; the authors' dp2 inference never resamples float64 first. A fresh process resampling float64 first
    still gives the golden dp2 signals."""
    import subprocess
    import sys

    _, doc = golden
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from _feature_fixtures import samples_sha256; "
            "from lawdnet.features import dp1_signal, dp2_signal, read_pcm\n"
            "for path in sys.argv[2:]:\n"
            "    rate, s = read_pcm(path); dp1_signal(rate, s); print(samples_sha256(dp2_signal(rate, s)))")
    names = ["speech8k", "speech44k_stereo"]
    here = os.path.dirname(__file__)
    out = subprocess.run([sys.executable, "-c", code, here, *(str(inputs[n]) for n in names)], check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == [doc["inputs"]["signals"][n]["dp2_signal_sha256"] for n in names]


def test_long_audio_runs_in_windows_with_context(extractor, monkeypatch):
    """Over 60 s, dp2 runs in 40 s windows with 10 s of context each side (bounded memory): the rows line up with
    the one-pass rows (same count, the conv stack's stride-2 bookkeeping) and equal them closely."""
    import lawdnet.features.dp2 as dp2

    rng = np.random.default_rng(5)
    t = np.arange(16000 * 95) / 16000
    signal = (0.3 * np.sin(2 * np.pi * 180 * t * (1 + 0.2 * np.sin(t))) * (rng.random(t.size) > 0.3)
              + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    windowed = extractor.logits(signal)
    monkeypatch.setattr(dp2, "CORE", 10 ** 9)
    whole = extractor.logits(signal)
    assert windowed.shape == whole.shape == ((dp2.spectrogram(signal).shape[1] + 1) // 2, 29)
    assert float((windowed - whole).abs().max()) <= 1e-5
