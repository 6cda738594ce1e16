"""Scale-out: ``--shard i/n`` processes and their merge, and torchrun's ranks, give the numbers of one process.

Every run here scores PSNR, SSIM and a 64-d FID (random Inception weights of conftest) on the tiny evaluation set:
generate_base_self (id0..id2 images, v0 v1 videos) and generate_base (id0..id2), 8 samples.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import time

import pytest
from _shard_helpers import OPTIONS, REPO, comparable, subprocess_env, torchrun
from evaluate_helpers import run_by_name, sample_by_name

from talkingface.evaluation import evaluate
from talkingface.evaluation.cache import shard_cache_name

# positions i, i+2, … of each run's samples (the plan's order: id0 id1 id2 v0 v1 / id0 id1 id2)
SHARD_OF = {("generate_base_self", s): f"{i % 2}/2" for i, s in enumerate(["id0", "id1", "id2", "v0", "v1"])}
SHARD_OF.update({("generate_base", s): f"{i % 2}/2" for i, s in enumerate(["id0", "id1", "id2"])})


@pytest.fixture(scope="module")
def single(eval_set, _weights_files, tmp_path_factory):
    """One unsharded process on a fresh output folder: what every split run must equal."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TALKINGFACE_CHECKPOINTS", str(_weights_files))
        mp.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch_home")))
        results = evaluate(eval_set, None, tmp_path_factory.mktemp("single") / "out", log=lambda line: None,
                           **OPTIONS)
    assert results["sharding"] is None
    assert results["runs"][0]["metrics"]["fid"]["value"] > 0
    return results


def _shard(base, out, shard, factory=None):
    return evaluate(base, None, out, shard=shard, metric_factory=factory, log=lambda line: None, **OPTIONS)


def test_two_shards_then_a_merge_equal_one_process(eval_set, weights_dir, tmp_path, single, counting_factory):
    out = tmp_path / "out"
    parts = [_shard(eval_set, out, s) for s in ("0/2", "1/2")]
    assert [p["n_samples"] for p in parts] == [5, 3] and all(p["n_computed"] == p["n_samples"] for p in parts)
    assert not (out / "full_results.json").exists()                 # a shard writes no report
    assert sorted(p.name for p in out.glob("results_cache*")) == [shard_cache_name((0, 2)), shard_cache_name((1, 2))]
    assert len(list((out / "cache" / "fid").glob("ref_*.npz"))) == 5 + 3  # gt_self/ and gt_cross/, split in two

    lines: list = []
    merged = evaluate(eval_set, None, out, metric_factory=counting_factory, log=lines.append, **OPTIONS)
    assert comparable(merged) == comparable(single)                 # bit-identical, FID included
    for run in merged["runs"]:
        assert (run["n_cached"], run["n_computed"]) == (run["n_samples"], 0)
        assert {s["sample"]: s["shard"] for s in run["samples"]} == {
            s: v for (r, s), v in SHARD_OF.items() if r == run["name"]}
    # nothing encoded again: per-sample values, generated and reference FID features all come from the shards' files
    encoded = ("psnr", "ssim", "fid.features", "fid.add_generated", "fid.add_reference")
    assert [counting_factory.frames[k] for k in encoded] == [0] * len(encoded)
    assert merged["sharding"] == {"world_size": 2, "shards": {"0/2": 5, "1/2": 3}}
    assert run_by_name(merged, "generate_base_self")["sharding"] == {"world_size": 2, "shards": {"0/2": 3, "1/2": 2}}
    assert not any("no shard" in line for line in lines)
    saved = json.loads((out / "full_results.json").read_text())
    assert saved["sharding"] == merged["sharding"]
    assert sample_by_name(run_by_name(saved, "generate_base"), "id1")["shard"] == "1/2"
    rows = list(csv.DictReader(io.StringIO((out / "per_sample.csv").read_text())))
    assert {(r["run"], r["sample"]): r["shard"] for r in rows} == SHARD_OF


def test_a_merge_scores_the_samples_of_a_missing_shard_itself(eval_set, weights_dir, tmp_path, single):
    out = tmp_path / "out"
    _shard(eval_set, out, "1/2")
    lines: list = []
    merged = evaluate(eval_set, None, out, log=lines.append, **OPTIONS)
    assert comparable(merged) == comparable(single)
    counts = {r["name"]: (r["n_cached"], r["n_computed"]) for r in merged["runs"]}
    assert counts == {"generate_base_self": (2, 3), "generate_base": (1, 2)}
    missing = [line for line in lines if "in no shard's results" in line]
    assert len(missing) == 1 and missing[0].startswith("merge: 5 sample(s)"), lines
    assert merged["sharding"]["shards"] == {"1/2": 3, "unsharded": 5}


def test_a_killed_shard_resumes_from_its_own_file(eval_set, weights_dir, tmp_path, single):
    """A partial last line (a kill mid-write) is cut from the shard's own file only when that shard runs again."""
    out = tmp_path / "out"
    _shard(eval_set, out, "0/2")
    own = out / shard_cache_name((0, 2))
    lines = own.read_bytes().splitlines(keepends=True)
    own.write_bytes(b"".join(lines[:-1]) + lines[-1][:20])            # the last sample's line half written
    _shard(eval_set, out, "1/2")                                   # reads the file of shard 0/2, leaves it as is
    assert own.read_bytes().endswith(lines[-1][:20])
    again = _shard(eval_set, out, "0/2")
    assert (again["n_cached"], again["n_computed"]) == (4, 1)
    assert own.read_bytes().endswith(b"\n") and len(own.read_bytes().splitlines()) == len(lines)
    assert comparable(evaluate(eval_set, None, out, log=lambda line: None, **OPTIONS)) == comparable(single)


@pytest.mark.parametrize("bad", ["2/2", "a/b", "0/0", "1", "-1/2"])
def test_a_bad_shard_is_a_one_line_error(bad, tmp_path, capsys):
    from talkingface.cli.evaluate import main

    code = main(["--base_dir", str(tmp_path / "set"), "--output_path", str(tmp_path / "out"), f"--shard={bad}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith(f"error: shard: {bad!r} is not i/n"), err
    assert not (tmp_path / "out").exists()


def test_the_cli_shard_prints_how_to_merge(eval_set, weights_dir, tmp_path, capsys):
    from talkingface.cli.evaluate import main

    out = tmp_path / "out"
    assert main(["--base_dir", str(eval_set), "--output_path", str(out), "--generate_dirs", "generate_base",
                 "--metrics", "psnr", "--device", "cpu", "--no_progress", "--shard", "1/2"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("shard 1/2: 1 sample(s) of 1 run(s) (1 scored, 0 from the cache, 0 failed)")
    assert "without --shard to merge" in printed and not (out / "full_results.json").exists()


@pytest.mark.slow
def test_two_gloo_processes_under_torchrun_equal_one_process(eval_set, _weights_files, tmp_path, single):
    out = tmp_path / "out"
    cmd = torchrun(2, "-m", "talkingface", "evaluate", "--base_dir", eval_set, "--output_path", out,
                   "--metrics", ",".join(OPTIONS["metrics"]), "--fid_dims", "64", "--batch_size", "4",
                   "--device", "cpu", "--no_progress")
    proc = subprocess.run(cmd, env=subprocess_env(_weights_files, tmp_path / "torch_home"), cwd=REPO,
                          capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "shard 1/2: 3 sample(s) of 2 run(s)" in proc.stdout and "rank 0 merges them" in proc.stdout
    assert "reports written to" in proc.stdout
    merged = json.loads((out / "full_results.json").read_text())
    got, want = comparable(merged), comparable(single)
    # the ranks run with OMP_NUM_THREADS=1, this process with more threads: Inception's float32 features differ in
    # their last bits (with equal thread counts the FID is bit-identical, as the in-process shards above show)
    for name, run in want.items():
        fid = got[name]["metrics"]["fid"]
        assert fid["value"] == pytest.approx(run["metrics"]["fid"]["value"], rel=1e-6)
        fid["value"] = run["metrics"]["fid"]["value"]
    assert got == want
    assert merged["sharding"] == {"world_size": 2, "shards": {"0/2": 5, "1/2": 3}, "launcher": "torchrun"}
    assert sorted((r["n_cached"], r["n_computed"]) for r in merged["runs"]) == [(3, 0), (5, 0)]


@pytest.mark.slow
def test_a_failing_rank_stops_the_other_instead_of_hanging_it(eval_set, _weights_files, tmp_path):
    proc = _bad_rank("fail", eval_set, _weights_files, tmp_path)
    assert "rank 1: injected failure in rank 1" in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert "rank 0: shard 1/2 failed: RuntimeError: injected failure in rank 1" in proc.stdout


@pytest.mark.slow
def test_a_stuck_rank_stops_the_other_after_the_wait_limit(eval_set, _weights_files, tmp_path):
    start = time.monotonic()
    proc = _bad_rank("hang", eval_set, _weights_files, tmp_path)
    assert "rank 0: shard 0/2: gave up waiting for the other ranks" in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert time.monotonic() - start < 120                   # torchrun ends the stuck rank once rank 0 has failed


def _bad_rank(mode, eval_set, weights, tmp_path):
    cmd = torchrun(2, REPO / "tests" / "evaluate" / "_shard_helpers.py", mode, 1, eval_set, tmp_path / "out")
    proc = subprocess.run(cmd, env=subprocess_env(weights, tmp_path / "torch_home"), cwd=REPO,
                          capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode != 0 and not (tmp_path / "out" / "full_results.json").exists()
    return proc


def test_torchrun_needs_its_variables_and_no_shard(monkeypatch, tmp_path):
    from talkingface.errors import ConfigError

    monkeypatch.setenv("WORLD_SIZE", "2")
    for name in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="start the run with torchrun"):
        evaluate(tmp_path, None, tmp_path / "out", distributed=True, **OPTIONS)
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ConfigError, match="leave --shard out"):
        evaluate(tmp_path, None, tmp_path / "out", distributed=True, shard="0/2", **OPTIONS)
