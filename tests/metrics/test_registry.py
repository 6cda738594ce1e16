"""The metric table: specs, helpful misses, options, weight errors, the lse entries."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from _metric_images import make_image

from talkingface.errors import KitError, WeightsError
from talkingface.metrics import MetricSpec, create_metric, get_factory, get_spec, list_metrics

MANIFEST_NAMES = {"dagan_vox_adv_256", "depth_encoder", "depth_decoder", "syncnet_v2", "s3fd", "fid_inception",
                  "lawdnet_epoch_170", "lawdnet_syncnet_256mouth", "deepspeech_graph",
                  "deepspeech_pytorch_librispeech", "face_alignment_2dfan4", "face_alignment_s3fd",
                  "vgg19_imagenet", "alexnet_imagenet", "lpips_alex_linear", "facenet_vggface2", "mtcnn_pnet",
                  "mtcnn_rnet", "mtcnn_onet", "openface_nn4_small2"}


def test_table():
    specs = {s.name: s for s in list_metrics()}
    assert list(specs) == ["niqe", "psnr", "ssim", "lpips", "l1", "akd", "aed", "csim", "fid", "lse_c", "lse_d"]
    for spec in specs.values():
        assert isinstance(spec, MetricSpec) and spec.kind in {"image", "set", "video"} and spec.protocol
        assert set(spec.weights) <= MANIFEST_NAMES
        assert get_spec(spec.name) is spec
    assert [n for n, s in specs.items() if s.full_reference] == ["psnr", "ssim", "lpips", "l1", "akd", "aed"]
    assert [n for n, s in specs.items() if s.source_reference] == ["csim"]    # source vs generated, any identity
    assert [n for n, s in specs.items() if not s.lower_is_better] == ["psnr", "ssim", "csim", "lse_c"]
    assert specs["fid"].kind == "set" and specs["fid"].weights == ("fid_inception",)
    assert specs["lse_c"].needs_audio and specs["lse_d"].needs_audio and specs["lse_c"].kind == "video"
    assert specs["lse_d"].lower_is_better and not specs["lse_c"].lower_is_better
    assert get_factory("lse_c") is get_factory("lse_d")        # one syncnet run for both


def test_helpful_misses():
    with pytest.raises(KitError, match=r"unknown metric 'fidd' \(did you mean 'fid'\?\); known: niqe, psnr"):
        get_spec("fidd")
    with pytest.raises(KitError, match="known: protocol"):
        create_metric("ssim", protocl="fomm")
    with pytest.raises(KitError, match="known: standard, fomm"):
        create_metric("ssim", protocol="matlab")
    with pytest.raises(KitError, match="known: pyiqa, matlab"):
        create_metric("niqe", variant="basicsr")


def test_weight_metrics_name_the_missing_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TALKINGFACE_CHECKPOINTS", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))      # no torch hub cache copy either
    for name in ("fid", "lpips"):
        with pytest.raises(WeightsError, match=r"weights missing: .*see `python -m talkingface weights status`"):
            create_metric(name)


def test_lse_entries(tmp_path, monkeypatch):
    if importlib.util.find_spec("syncnet") is None or importlib.util.find_spec("syncnet.metric") is None:
        with pytest.raises(KitError, match="lse metrics need the syncnet package"):
            create_metric("lse_c")
    else:   # the SyncNet package is there: without weights it must say which file is missing
        monkeypatch.setenv("TALKINGFACE_CHECKPOINTS", str(tmp_path))
        monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
        with pytest.raises(WeightsError, match="weights missing"):
            create_metric("lse_d")


def test_image_metric_contract():
    frames = np.stack([make_image("astronaut")[:200, :256]] * 2)
    m = create_metric("niqe")
    out = m(frames)
    assert out.shape == (2,) and out.dtype == np.float64 and np.all(np.isfinite(out)) and out[0] == out[1]
