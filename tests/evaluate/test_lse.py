"""LSE-C / LSE-D through the runner: one SyncNet run per generated video with audio, weights made here."""
from __future__ import annotations

import shutil

import pytest
import torch
from evaluate_helpers import sample_by_name


@pytest.fixture
def lse_set(tmp_path, make_video, weights_dir, eval_set):
    from syncnet.model import SyncNet, save_syncnet

    torch.manual_seed(0)
    model = SyncNet()
    with torch.no_grad():                    # a shared output bias makes the 31 distances vary with the offset
        bias = torch.randn(1024) * 5.0
        model.netfclip[3].bias.copy_(bias)
        model.netfcaud[3].bias.copy_(bias)
    save_syncnet(model.eval(), weights_dir / "syncnet" / "syncnet_v2.model")
    base = tmp_path / "evaluation_set"
    gen = base / "generate_lse"
    gen.mkdir(parents=True)
    shutil.copy(make_video(frames=24, size=(224, 224), fps=25, audio=True, tone_hz=330.0), gen / "talk.mp4")
    shutil.copy(make_video(frames=8, size=(224, 224), fps=25), gen / "silent.mp4")
    shutil.copy(eval_set / "gt_self" / "id0.png", gen / "still.png")
    yield base
    (weights_dir / "syncnet" / "syncnet_v2.model").unlink(missing_ok=True)


@pytest.mark.slow
def test_lse_once_per_video_with_audio(lse_set, run_eval, counting_factory):
    from syncnet.metric import LSEMetric

    results, log = run_eval(lse_set, metrics=["lse_c", "lse_d"], metric_factory=counting_factory)
    run = results["runs"][0]
    talk = sample_by_name(run, "talk")
    direct = LSEMetric().video(lse_set / "generate_lse" / "talk.mp4")
    assert talk["values"]["lse_c"] == pytest.approx(direct["lse_c"], rel=1e-9)
    assert talk["values"]["lse_d"] == pytest.approx(direct["lse_d"], rel=1e-9)
    assert talk["extras"]["lse_c/lse_d"]["offset"] == direct["offset"]
    assert sample_by_name(run, "silent")["not_computable"] == {"lse_c": "no audio stream", "lse_d": "no audio stream"}
    still = sample_by_name(run, "still")
    assert still["error"] is None and still["values"] == {} and still["not_computable"] == {}
    # lse_c and lse_d share one factory: one SyncNet model, one run per video
    assert counting_factory.created["lse_c"] == 1 and counting_factory.created["lse_d"] == 0
    assert counting_factory.frames["lse_c.video"] == 1
    m = run["metrics"]["lse_d"]
    assert m["n"] == 1 and m["kind"] == "video" and "not computable for 1 of 3" in m["note"]
    assert "syncnet_python" in m["protocol"]


def test_lse_without_weights_is_unavailable(lse_set, run_eval, weights_dir):
    (weights_dir / "syncnet" / "syncnet_v2.model").unlink(missing_ok=True)
    results, log = run_eval(lse_set, metrics=["lse_c", "lse_d"])
    run = results["runs"][0]
    assert run["metrics"]["lse_c"]["value"] is None and "weights missing" in run["metrics"]["lse_c"]["note"]
    assert run["n_evaluated"] == 3 and any("lse_d unavailable: weights missing" in line for line in log)
