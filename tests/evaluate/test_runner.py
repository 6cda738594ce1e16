"""The runner on a tiny evaluation set: self vs cross, images and videos, parity with per-image skimage, resume."""
from __future__ import annotations

import json

import numpy as np
import pytest
from evaluate_helpers import run_by_name, sample_by_name
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from talkingface.evaluation.aggregate import CROSS_NOTE
from talkingface.media.images import read_image


def _skimage_ssim(a, b):
    return structural_similarity(a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=255)


def _video(path):
    from talkingface.media import VideoReader

    with VideoReader(path) as r:
        return np.concatenate(list(r.chunks(16)))


def test_self_and_cross_images_and_videos(eval_set, run_eval, counting_factory):
    from talkingface.metrics import niqe

    results, log = run_eval(eval_set, metrics=["niqe", "psnr", "ssim"], metric_factory=counting_factory)
    self_run, cross_run = run_by_name(results, "generate_base_self"), run_by_name(results, "generate_base")
    assert self_run["mode"] == "self" and cross_run["mode"] == "cross"
    assert self_run["reference_dir"].endswith("gt_self") and cross_run["reference_dir"].endswith("gt_cross")
    assert self_run["n_samples"] == 5 and self_run["n_failed"] == 0 and cross_run["n_samples"] == 3

    # per-sample values equal the per-image skimage / kit functions; the run value is the mean over samples
    per_sample_psnr = []
    for i in range(3):
        gen = read_image(eval_set / "generate_base_self" / f"id{i}.png")
        gt = read_image(eval_set / "gt_self" / f"id{i}.png")
        s = sample_by_name(self_run, f"id{i}")
        assert s["n_frames"] == 1
        assert s["values"]["psnr"] == pytest.approx(peak_signal_noise_ratio(gt, gen, data_range=255), rel=1e-9)
        assert s["values"]["ssim"] == pytest.approx(_skimage_ssim(gen, gt), abs=1e-6)
        assert s["values"]["niqe"] == pytest.approx(niqe(gen), rel=1e-6)
        per_sample_psnr.append(s["values"]["psnr"])
    for v in range(2):                                   # videos: frames paired by index, mean over frames
        gen, gt = _video(eval_set / "generate_base_self" / f"v{v}.mp4"), _video(eval_set / "gt_self" / f"v{v}.mp4")
        n = min(len(gen), len(gt))
        s = sample_by_name(self_run, f"v{v}")
        assert s["n_frames"] == n == 5 - v
        expected = np.mean([peak_signal_noise_ratio(gt[k], gen[k], data_range=255) for k in range(n)])
        assert s["values"]["psnr"] == pytest.approx(expected, rel=1e-9)
        per_sample_psnr.append(s["values"]["psnr"])
        assert any("frame counts differ" in note for note in s["notes"]) == (v == 1)
    psnr = self_run["metrics"]["psnr"]
    assert psnr["value"] == pytest.approx(np.mean(per_sample_psnr), rel=1e-12)
    assert psnr["std"] == pytest.approx(np.std(per_sample_psnr), rel=1e-9)
    assert psnr["n"] == 5 and psnr["n_frames"] == 3 + 5 + 4 and "PSNR" in psnr["protocol"]

    # cross-identity: no full-reference metric, NIQE only
    for name in ("psnr", "ssim"):
        assert cross_run["metrics"][name]["value"] is None
        assert cross_run["metrics"][name]["note"] == CROSS_NOTE
    assert cross_run["metrics"]["niqe"]["n"] == 3
    assert all("psnr" not in s["values"] for s in cross_run["samples"])

    # batched: frames of several samples went through each metric call, and every frame exactly once
    assert counting_factory.frames["psnr"] == 3 + 5 + 4
    assert counting_factory.frames["niqe"] == 3 + 5 + 4 + 3


def test_resume_after_kill(copy_set, run_eval, tmp_path, counting_factory):
    from talkingface.evaluation.cache import CACHE_NAME

    base = copy_set(keep={"generate_base_self"})
    out = tmp_path / "out"
    first, _ = run_eval(base, out=out)
    cache = out / CACHE_NAME
    lines = cache.read_bytes().splitlines(keepends=True)
    assert len(lines) == 5
    # a kill while the last line was written: keep half of it
    cache.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    lost = json.loads(lines[-1])["record"]

    second, _ = run_eval(base, out=out, metric_factory=counting_factory)
    run = second["runs"][0]
    assert run["n_cached"] == 4 and run["n_computed"] == 1
    assert counting_factory.frames["psnr"] == lost["n_frames"]         # only the lost sample was scored again
    assert len(cache.read_bytes().splitlines()) == 5                   # no duplicate, no broken line
    assert all(json.loads(line) for line in cache.read_bytes().splitlines())
    assert second["cache_note"].startswith("1 incomplete line")
    by_name = lambda res: {s["sample"]: s["values"] for s in res["runs"][0]["samples"]}  # noqa: E731
    assert by_name(second) == by_name(first)
    assert run["metrics"]["psnr"]["value"] == first["runs"][0]["metrics"]["psnr"]["value"]

    # a third run computes nothing; changing a protocol option invalidates the cache
    counting_factory.frames.clear()
    third, _ = run_eval(base, out=out, metric_factory=counting_factory)
    assert third["runs"][0]["n_computed"] == 0 and sum(counting_factory.frames.values()) == 0
    fourth, _ = run_eval(base, out=out, ssim_protocol="fomm")
    assert fourth["runs"][0]["n_computed"] == 5
    assert "fomm" in fourth["runs"][0]["metrics"]["ssim"]["protocol"]


def test_touched_file_is_rescored(copy_set, run_eval, tmp_path):
    from talkingface.media.images import write_image

    base = copy_set(keep={"generate_base_self"})
    out = tmp_path / "out"
    run_eval(base, out=out, metrics=["psnr"])
    write_image(base / "generate_base_self" / "id1.png", read_image(base / "gt_self" / "id1.png"))
    again, _ = run_eval(base, out=out, metrics=["psnr"])
    assert again["runs"][0]["n_computed"] == 1 and again["runs"][0]["n_cached"] == 4
    assert sample_by_name(again["runs"][0], "id1")["values"]["psnr"] == float("inf")
    assert "identical to their ground truth" in again["runs"][0]["metrics"]["psnr"]["note"]


def test_pairs_csv_decides_identity(copy_set, run_eval):
    base = copy_set(keep={"generate_base"})
    (base / "pairs.csv").write_text("generated,gt,source,source_id,driving_id\n"
                                    "id0,gt_cross/id0.png,source_cross/id0.png,A,A\n"
                                    "id1.png,gt_cross/id1.png,,B,C\n"
                                    "missing,gt_cross/id2.png,,D,D\n")
    results, log = run_eval(base, ["generate_base"], pairs="pairs.csv")
    run = results["runs"][0]
    assert run["mode"] == "mixed" and run["n_samples"] == 2
    assert "psnr" in sample_by_name(run, "id0")["values"] and "psnr" not in sample_by_name(run, "id1")["values"]
    assert run["metrics"]["psnr"]["n"] == 1 and "same-identity samples only" in run["metrics"]["psnr"]["note"]
    assert any("1 pair(s) name a generated file" in line and "missing" in line for line in log)


def test_save_visuals_and_max_samples(copy_set, run_eval, tmp_path):
    base = copy_set(keep={"generate_base_self"})
    results, log = run_eval(base, out=tmp_path / "o", metrics=["psnr"], save_visuals=True, max_samples=4)
    run = results["runs"][0]
    assert run["n_samples"] == 4 and any("--max_samples 4" in w for w in run["warnings"])
    pngs = sorted(p.name for p in (tmp_path / "o" / "visuals" / "generate_base_self").iterdir())
    assert pngs == ["id0.png", "id1.png", "id2.png", "v0.png"]
    strip = read_image(tmp_path / "o" / "visuals" / "generate_base_self" / "v0.png")
    # source (200 px photo) | ground truth | generated (192 px video frames), scaled to one height, 4 px gaps
    assert strip.shape == (200, 3 * 200 + 2 * 4, 3)
    import cv2

    from talkingface.report.visuals import middle_frame

    generated = cv2.resize(middle_frame(base / "generate_base_self" / "v0.mp4"), (200, 200),
                           interpolation=cv2.INTER_AREA)
    assert np.abs(strip[:, -200:].astype(int) - generated).mean() < 1.0
