"""The runner side of the paper metrics (l1, akd, aed, csim) with fake metrics injected through ``metric_factory``:
frames a protocol skips (NaN), source-referenced scoring (CSIM: source vs generated, any identity), cache, shards.

The set made here (64x64 generated frames, uniform gray so a frame's mean says which frame it is)::

    generate_m_self/  s_img.png (source: 80x80 image)   s_vid.mp4 (6 frames, 0-1 black; source: 8-frame 48x48 video)
                      s_dark.png (black: every frame skipped)   s_nosrc.png (no source file)
    generate_m/       x_a.png (source 80x80)   x_b.png (source 64x64)   x_c.mp4 (6 frames; source: 3-frame video)

Fakes: ``akd`` (full reference) = mean |generated - ground truth| per frame, NaN on a dark generated frame ("no face
found"); ``csim`` (source reference) = the source frame's mean per frame (a wrong pairing changes it), NaN on a dark
generated frame; ``l1`` = the real L1 formula on a fake object, never NaN.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from evaluate_helpers import run_by_name, sample_by_name

from talkingface.errors import WeightsError
from talkingface.evaluation import evaluate
from talkingface.evaluation.cache import CACHE_NAME
from talkingface.metrics import create_metric, get_spec

DARK = 30.0
SELF, CROSS = "generate_m_self", "generate_m"


def _frames(path) -> np.ndarray:
    from talkingface.evaluation.frames import FrameFile

    with FrameFile(path) as f:
        return np.concatenate(list(f.chunks(16)))


def _means(path) -> np.ndarray:
    return _frames(path).reshape(len(_frames(path)), -1).mean(axis=1)


class _Fake:
    def __init__(self, name: str, calls: list):
        self.spec, self.name, self.calls = get_spec(name), name, calls
        self.skip_reason = "no face found"

    def __call__(self, generated, reference=None):
        assert reference is not None and len(reference) == len(generated)
        self.calls.append((self.name, len(generated), reference.shape[1:]))
        gen = generated.reshape(len(generated), -1).astype(np.float64)
        ref = reference.reshape(len(reference), -1).astype(np.float64)
        if self.name == "l1":
            return np.abs(gen - ref).mean(axis=1) / 255.0
        values = ref.mean(axis=1) if self.name == "csim" else np.abs(gen - ref).mean(axis=1)
        return np.where(gen.mean(axis=1) < DARK, np.nan, values)


class FakeFactory:
    """The registry's create_metric, with fakes for l1, akd and csim; ``missing`` names raise WeightsError."""

    def __init__(self, missing=()):
        self.calls: list = []
        self.missing = set(missing)

    def __call__(self, name, device="cpu", **opts):
        if name in self.missing:
            raise WeightsError(f"weights missing: checkpoints/{name}.pth, see checkpoints/README.md")
        if name in ("l1", "akd", "csim"):
            return _Fake(name, self.calls)
        return create_metric(name, device=device, **opts)

    def frames(self, name: str) -> int:
        return sum(n for m, n, _ in self.calls if m == name)


def _gray(value: int, size: int = 64, n: int = 1) -> np.ndarray:
    return np.full((n, size, size, 3), value, np.uint8)


@pytest.fixture(scope="module")
def mset(tmp_path_factory):
    from talkingface.media import VideoWriter
    from talkingface.media.images import write_image

    root = tmp_path_factory.mktemp("mset") / "evaluation_set"
    for d in ("source_self", "gt_self", SELF, "source_cross", "gt_cross", CROSS):
        (root / d).mkdir(parents=True)

    def video(path, frames):
        with VideoWriter(path, 25) as w:
            w.write(frames)

    write_image(root / SELF / "s_img.png", _gray(150)[0])
    write_image(root / "gt_self" / "s_img.png", _gray(140)[0])
    write_image(root / "source_self" / "s_img.png", _gray(90, 80)[0])
    gen = np.concatenate([_gray(0, n=2), *[_gray(100 + 20 * k) for k in range(4)]])
    video(root / SELF / "s_vid.mp4", gen)
    video(root / "gt_self" / "s_vid.mp4", np.clip(gen.astype(int) + 10, 0, 255).astype(np.uint8))
    video(root / "source_self" / "s_vid.mp4", np.concatenate([_gray(40 + 20 * k, 48) for k in range(8)]))
    write_image(root / SELF / "s_dark.png", _gray(0)[0])
    write_image(root / "gt_self" / "s_dark.png", _gray(120)[0])
    write_image(root / "source_self" / "s_dark.png", _gray(120)[0])
    write_image(root / SELF / "s_nosrc.png", _gray(160)[0])
    write_image(root / "gt_self" / "s_nosrc.png", _gray(150)[0])
    for stem, src in (("x_a", _gray(70, 80)), ("x_b", _gray(110, 64))):
        write_image(root / CROSS / f"{stem}.png", _gray(130)[0])
        write_image(root / "gt_cross" / f"{stem}.png", _gray(128)[0])
        write_image(root / "source_cross" / f"{stem}.png", src[0])
    video(root / CROSS / "x_c.mp4", np.concatenate([_gray(100 + 10 * k) for k in range(6)]))
    video(root / "gt_cross" / "x_c.mp4", np.concatenate([_gray(100 + 10 * k) for k in range(6)]))
    video(root / "source_cross" / "x_c.mp4", np.concatenate([_gray(50 + 30 * k, 48) for k in range(3)]))
    return root


METRICS = ["psnr", "l1", "akd", "csim"]


def _run(base, out, factory, **options):
    options = {"metrics": METRICS, "progress": False, "batch_size": 16, **options}
    return evaluate(base, None, out, metric_factory=factory, log=lambda line: None, **options)


@pytest.fixture(scope="module")
def first(mset, tmp_path_factory):
    factory = FakeFactory()
    out = tmp_path_factory.mktemp("first") / "out"
    return _run(mset, out, factory), factory, out


def test_nan_frames_are_left_out_of_the_mean_and_counted(first, mset):
    results, _, _ = first
    run = run_by_name(results, SELF)
    s = sample_by_name(run, "s_vid")
    gen, gt = _frames(mset / SELF / "s_vid.mp4"), _frames(mset / "gt_self" / "s_vid.mp4")
    diff = np.abs(gen.astype(float) - gt.astype(float)).reshape(6, -1).mean(axis=1)
    assert s["values"]["akd"] == pytest.approx(diff[2:].mean(), rel=1e-9)        # frames 0 and 1: no face
    assert s["skipped_frames"] == {"akd": 2, "csim": 2}
    assert "akd: 2 of 6 frames skipped (no face found)" in s["notes"]
    assert "l1" not in s["skipped_frames"] and s["values"]["l1"] == pytest.approx(diff.mean() / 255, rel=1e-9)
    akd = run["metrics"]["akd"]
    assert akd["n"] == 3 and akd["n_skipped_frames"] == 2 + 1 and akd["n_frames"] == 1 + 4 + 1
    assert "3 frame(s) of 2 sample(s) skipped (no face found)" in akd["note"]
    assert run["metrics"]["psnr"]["n_skipped_frames"] == 0 and run["metrics"]["psnr"]["n_frames"] == 6 + 3


def test_all_frames_skipped_is_not_computable_with_the_reason(first):
    run = run_by_name(first[0], SELF)
    s = sample_by_name(run, "s_dark")
    assert "akd" not in s["values"] and "csim" not in s["values"] and "psnr" in s["values"]
    assert s["not_computable"]["akd"] == "no face found (all frames skipped)"
    assert s["skipped_frames"] == {"akd": 1, "csim": 1}
    assert "not computable for 1 of 4 sample(s): no face found (all frames skipped)" in run["metrics"]["akd"]["note"]


def test_source_image_is_repeated_and_video_source_paired_by_index(first, mset):
    run = run_by_name(first[0], SELF)
    img = sample_by_name(run, "s_img")
    assert img["values"]["csim"] == pytest.approx(_means(mset / "source_self" / "s_img.png")[0], rel=1e-9)
    vid = sample_by_name(run, "s_vid")
    src = _means(mset / "source_self" / "s_vid.mp4")
    assert vid["values"]["csim"] == pytest.approx(src[2:6].mean(), rel=1e-9)   # frame i with source frame i
    assert not any("source video is shorter" in n for n in vid["notes"])


def test_sources_of_different_sizes_are_never_concatenated(first):
    _, factory, _ = first
    shapes = [shape for name, _, shape in factory.calls if name == "csim"]
    assert {(80, 80, 3), (48, 48, 3), (64, 64, 3)} <= set(shapes)        # one call per source size
    assert all(shape == (64, 64, 3) for name, _, shape in factory.calls if name != "csim")


def test_missing_source_and_shorter_source_video(first, mset):
    results = first[0]
    s = sample_by_name(run_by_name(results, SELF), "s_nosrc")
    assert s["not_computable"]["csim"] == "no source image" and "akd" in s["values"]
    c = sample_by_name(run_by_name(results, CROSS), "x_c")
    src = _means(mset / "source_cross" / "x_c.mp4")
    assert c["values"]["csim"] == pytest.approx(src.mean(), rel=1e-9)
    assert c["extras"]["source_length_mismatch"] == [6, 3]
    assert any("csim scored on the first 3 frames" in n for n in c["notes"])
    assert run_by_name(results, CROSS)["metrics"]["csim"]["n_frames"] == 1 + 1 + 3


def test_cross_identity_samples_get_csim_only(first, mset):
    run = run_by_name(first[0], CROSS)
    for stem in ("x_a", "x_b"):
        s = sample_by_name(run, stem)
        assert set(s["values"]) == {"csim"}
        assert s["values"]["csim"] == pytest.approx(_means(mset / "source_cross" / f"{stem}.png")[0], rel=1e-9)
    for name in ("psnr", "l1", "akd"):
        assert run["metrics"][name]["value"] is None and "cross-identity" in run["metrics"][name]["note"]
    assert run["metrics"]["csim"]["n"] == 3


def test_resume_gives_identical_results_and_a_changed_source_rescores(first, mset, tmp_path):
    import shutil

    results, _, out = first
    again_out = tmp_path / "out"
    shutil.copytree(out, again_out)
    factory = FakeFactory()
    again = _run(mset, again_out, factory)
    assert factory.calls == [] and all(r["n_computed"] == 0 for r in again["runs"])
    for a, b in zip(results["runs"], again["runs"], strict=True):
        assert a["metrics"] == b["metrics"]
        assert [(s["values"], s["not_computable"], s["skipped_frames"], s["notes"]) for s in a["samples"]] == \
               [(s["values"], s["not_computable"], s["skipped_frames"], s["notes"]) for s in b["samples"]]
    saved = json.loads((again_out / "full_results.json").read_text())
    assert sample_by_name(run_by_name(saved, SELF), "s_vid")["skipped_frames"] == {"akd": 2, "csim": 2}

    base = tmp_path / "set"
    shutil.copytree(mset, base)
    moved = _run(base, tmp_path / "moved", FakeFactory())          # same files elsewhere: a fresh output folder
    from talkingface.media.images import write_image

    write_image(base / "source_cross" / "x_b.png", _gray(200, 64)[0])
    factory = FakeFactory()
    changed = _run(base, tmp_path / "moved", factory)
    assert factory.frames("csim") == 1 and factory.frames("akd") == 0
    x_b = sample_by_name(run_by_name(changed, CROSS), "x_b")
    assert x_b["values"]["csim"] == pytest.approx(200.0)
    assert sample_by_name(run_by_name(moved, CROSS), "x_b")["values"]["csim"] == pytest.approx(110.0)


def test_existing_metric_numbers_do_not_change(first, mset, tmp_path):
    alone = _run(mset, tmp_path / "alone", FakeFactory(), metrics=["psnr"])
    for run in alone["runs"]:
        both = run_by_name(first[0], run["name"])
        assert {s["sample"]: s["values"] for s in run["samples"]} == \
               {s["sample"]: {k: v for k, v in s["values"].items() if k == "psnr"} for s in both["samples"]}
        assert run["metrics"]["psnr"] == both["metrics"]["psnr"]
    lines = (tmp_path / "alone" / CACHE_NAME).read_text().splitlines()
    assert all(json.loads(line)["record"]["skipped_frames"] == {} for line in lines)


def test_shards_merge_skipped_counts(first, mset, tmp_path):
    out = tmp_path / "out"
    for shard in ("0/2", "1/2"):
        _run(mset, out, FakeFactory(), shard=shard)
    factory = FakeFactory()
    merged = _run(mset, out, factory)
    assert factory.calls == []
    for a, b in zip(first[0]["runs"], merged["runs"], strict=True):
        assert a["metrics"] == b["metrics"]
        assert {s["sample"]: (s["skipped_frames"], s["values"]) for s in a["samples"]} == \
               {s["sample"]: (s["skipped_frames"], s["values"]) for s in b["samples"]}


def test_missing_weights_show_why_in_every_report(mset, tmp_path):
    out = tmp_path / "out"
    results = _run(mset, out, FakeFactory(missing={"akd", "csim"}), metrics=["psnr", "akd", "csim"])
    for run in results["runs"]:
        assert run["metrics"]["akd"]["note"].startswith("weights missing: checkpoints/akd.pth")
        assert run["metrics"]["csim"]["note"].startswith("weights missing: checkpoints/csim.pth")
    for name in ("summary.md", "report.html", "paper_table.md"):
        text = (out / name).read_text()
        assert "weights missing: checkpoints/akd.pth" in text and "checkpoints/csim.pth" in text, name


def test_new_metric_names_on_the_command_line(mset, tmp_path, monkeypatch):
    from talkingface.cli.evaluate import build_parser
    from talkingface.evaluation.config import DEFAULT_METRICS, EvaluateConfig

    args = build_parser().parse_args(["--metrics", "psnr", "ssim,l1", "akd", "aed", "csim"])
    assert args.metrics == ["psnr", "ssim,l1", "akd", "aed", "csim"]
    cfg = EvaluateConfig(metrics=["psnr", "ssim,l1", "AKD", "aed", "csim"]).validate()
    assert cfg.metrics == ["psnr", "ssim", "l1", "akd", "aed", "csim"]
    assert not {"l1", "akd", "aed", "csim"} & set(DEFAULT_METRICS)
    assert EvaluateConfig(metrics="psnr,csim").validate().metrics == ["psnr", "csim"]

    from talkingface.cli.evaluate import main

    monkeypatch.setattr("talkingface.evaluation.metrics.create_metric", FakeFactory(missing={"aed"}))
    out = tmp_path / "cli"
    assert main(["--base_dir", str(mset), "--output_path", str(out), "--metrics", "psnr", "l1,akd", "aed", "csim",
                 "--no_progress", "--device", "cpu"]) == 0
    saved = json.loads((out / "full_results.json").read_text())
    assert saved["args"]["metrics"] == ["psnr", "l1", "akd", "aed", "csim"]
    metrics = run_by_name(saved, SELF)["metrics"]
    assert metrics["akd"]["value"] is not None and metrics["csim"]["n_skipped_frames"] == 3
    assert metrics["aed"]["value"] is None and metrics["aed"]["note"].startswith("weights missing")


def test_source_frames_of_an_image_are_a_view(mset):
    from talkingface.evaluation.frames import SourceFrames

    src = SourceFrames(mset / "source_self" / "s_img.png", 4)
    a, b = src.take(5), src.take(3)
    assert a.shape == (5, 80, 80, 3) and a.strides[0] == 0 and np.shares_memory(a, b)
    src.close()
    vid = SourceFrames(mset / "source_cross" / "x_c.mp4", 2)
    parts = [vid.take(2), vid.take(2), vid.take(2)]
    assert [None if p is None else len(p) for p in parts] == [2, 1, None] and vid.short and vid.taken == 3
    vid.close()
