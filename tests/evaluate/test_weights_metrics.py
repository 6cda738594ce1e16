"""FID and LPIPS through the runner with weights made here; without weights they are reported unavailable."""
from __future__ import annotations

import numpy as np
import pytest
from evaluate_helpers import sample_by_name

from talkingface.media.images import read_image


def _frames(path):
    from talkingface.evaluation.frames import FrameFile

    with FrameFile(path) as f:
        return np.concatenate(list(f.chunks(16)))


@pytest.mark.slow
def test_fid_and_lpips_with_weights(copy_set, run_eval, weights_dir, tmp_path, counting_factory):
    from talkingface.metrics import create_metric, lpips

    base = copy_set(keep={"generate_base_self"})
    out = tmp_path / "out"
    # dims 64 (pytorch-fid's first block) keeps the test fast: the 2048-d sqrtm alone takes ~30 s on 2 cores
    results, log = run_eval(base, out=out, metrics=["psnr", "fid", "lpips"], fid_dims=64)
    run = results["runs"][0]
    fid = run["metrics"]["fid"]
    gen_files = sorted((base / "generate_base_self").iterdir())
    ref_files = sorted((base / "gt_self").iterdir())
    # the same number from the metric fed directly with every frame of both sets
    direct = create_metric("fid", dims=64)
    for f in gen_files:
        direct.add_generated(_frames(f))
    for f in ref_files:
        direct.add_reference(_frames(f))
    expected = direct.compute()
    assert fid["n"] == expected.n_generated == 3 + 5 + 4 and fid["n_reference"] == expected.n_reference == 3 + 10
    assert fid["value"] == pytest.approx(expected.value, rel=1e-6, abs=1e-6) and fid["value"] > 0
    assert "N < 64" in fid["note"] and "pytorch-fid" in fid["protocol"]
    assert len(list((out / "cache").glob("fid_ref_*.npz"))) == 1

    s = sample_by_name(run, "id0")
    a, b = read_image(base / "generate_base_self" / "id0.png"), read_image(base / "gt_self" / "id0.png")
    assert s["values"]["lpips"] == pytest.approx(lpips(a, b), rel=1e-5)
    assert run["metrics"]["lpips"]["n"] == 5

    # resumed: nothing per sample, the reference statistics come from the .npz cache
    again, _ = run_eval(base, out=out, metrics=["psnr", "fid", "lpips"], fid_dims=64,
                        metric_factory=counting_factory)
    assert again["runs"][0]["n_computed"] == 0
    assert again["runs"][0]["metrics"]["fid"]["value"] == pytest.approx(fid["value"], rel=1e-9)
    assert counting_factory.frames["fid.add_reference"] == 0 and counting_factory.frames["lpips"] == 0
    reencoded = counting_factory.frames["fid.add_generated"] + counting_factory.frames["fid.features"]
    assert reencoded == 0                       # resumed samples' FID features come from the cache


def test_missing_weights_are_reported_and_run_goes_on(copy_set, no_weights, tmp_path, capsys):
    from talkingface.cli.evaluate import main

    base = copy_set(keep={"generate_base"})
    code = main(["--base_dir", str(base), "--output_path", str(tmp_path / "o"), "--metrics", "niqe,fid,lpips",
                 "--no_progress"])
    assert code == 0
    captured = capsys.readouterr()
    assert f"fid unavailable: weights missing: {no_weights}/fid/pt_inception-2015-12-05-6726825d.pth" in captured.err
    assert "lpips unavailable: weights missing:" in captured.err and "weights status" in captured.err
    import json

    run = json.loads((tmp_path / "o" / "full_results.json").read_text())["runs"][0]
    assert run["metrics"]["fid"]["value"] is None and run["metrics"]["fid"]["note"].startswith("weights missing")
    assert run["metrics"]["lpips"]["value"] is None and run["metrics"]["niqe"]["n"] == 3


def test_fid_frame_subsampling():
    from talkingface.evaluation.batcher import SampleState
    from talkingface.evaluation.frames import fid_stride

    assert fid_stride(100, None) == 1 and fid_stride(100, 100) == 1 and fid_stride(100, 30) == 4
    state = SampleState(None, "k", {"fid"}, fid_stride=fid_stride(10, 3), fid_max=3)
    masks = [state.fid_mask(0, 4), state.fid_mask(4, 4), state.fid_mask(8, 2)]
    assert np.flatnonzero(np.concatenate(masks)).tolist() == [0, 4, 8]
