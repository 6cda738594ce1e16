"""scripts/reproduce_all.sh in container mode: the `docker run` commands it issues (network, user, volumes, images).

A stand-in `docker` client records its arguments (DOCKER=...); the real images run in scripts/docker_ci.sh."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STUB = """#!/bin/bash
echo "$*" >> "$STUB_LOG"
case "$1" in
  info) [ "${STUB_NO_DAEMON:-0}" = 1 ] && exit 1; echo '{"runc":{}}' ;;
  image) [ "${STUB_NO_IMAGES:-0}" = 1 ] && exit 1; [[ " $* " == *" --format "* ]] && echo 1000:1000 ;;
esac
exit 0
"""


@pytest.fixture
def stub(tmp_path) -> dict:
    exe = tmp_path / "docker"
    exe.write_text(STUB)
    exe.chmod(0o755)
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    env = {**os.environ, "DOCKER": str(exe), "STUB_LOG": str(tmp_path / "calls.log"),
           "TALKINGFACE_CHECKPOINTS": str(ckpt), "TALKINGFACE_IMAGE_TAG": "t1"}
    env.pop("DOCKER_HOST", None)
    return {"env": env, "log": tmp_path / "calls.log", "out": tmp_path / "out", "ckpt": ckpt}


def reproduce(stub, *args, **env):
    return subprocess.run([str(REPO / "scripts" / "reproduce_all.sh"), "--smoke", "--out", str(stub["out"]), *args],
                          capture_output=True, text=True, env={**stub["env"], **env}, timeout=120)


def runs(stub) -> list[list[str]]:
    return [line.split() for line in stub["log"].read_text().splitlines() if line.startswith("run ")]


def test_stages_run_in_their_images_with_only_the_volumes(stub):
    r = reproduce(stub)
    assert r.returncode == 0, r.stderr
    calls = runs(stub)
    out, data = stub["out"], stub["out"] / "evaluation_set"
    for call in calls:
        head = " ".join(call[:6])
        assert head == "run --rm --network none --shm-size 2g", call
        assert call[call.index("--user") + 1] == ("1000:1000" if os.getuid() == 0 else f"{os.getuid()}:{os.getgid()}")
        vols = {call[i + 1] for i, w in enumerate(call) if w == "-v"}
        assert vols == {f"{data}:/data", f"{out}:/outputs", f"{stub['ckpt']}:/checkpoints:ro"}
        assert "--gpus" not in call  # --smoke runs on the CPU
    images = [next(w for w in c if w.endswith(":t1")) for c in calls]
    assert images[0] == "talkingface-base:t1"                       # sample
    baselines = [i for i, c in zip(images, calls, strict=True) if "baseline" in c]
    assert baselines == ["talkingface-base:t1"] * 2
    assert images[-1] == "evaluation-image:t1"
    sample = calls[0][calls[0].index("talkingface-base:t1") + 1:]
    assert sample == ["sample", "/data"]
    evaluate = calls[-1][calls[-1].index("evaluation-image:t1") + 1:]
    assert evaluate[:4] == ["--base_dir", "/data", "--output_path", "/outputs/evaluation"]
    for call in calls:  # the stage's own arguments name only paths inside the container
        args = call[next(i for i, w in enumerate(call) if w.endswith(":t1")) + 1:]
        assert not any(str(out) in w for w in args), call
    assert (out / ".done" / "evaluate").exists() and (out / "logs" / "sample.log").exists()
    assert "talkingface-kit run (smoke, container)" in (out / "summary.md").read_text()


def test_resume_skips_finished_stages(stub):
    assert reproduce(stub).returncode == 0
    n = len(runs(stub))
    r = reproduce(stub)
    assert r.returncode == 0 and "[sample] done earlier, skipped" in r.stdout
    # only the weights probe of the DaGAN stage runs again
    assert all("weights" in c for c in runs(stub)[n:])


def test_missing_images_are_an_error_that_says_how_to_build(stub):
    r = reproduce(stub, STUB_NO_IMAGES="1")
    assert r.returncode == 2
    assert "image talkingface-base:t1 not found: build the images (docker/build.sh), or run with --local" in r.stderr


def test_smoke_uses_the_reduced_settings_and_says_so(stub):
    assert reproduce(stub).returncode == 0
    calls = runs(stub)
    evaluate = calls[-1][calls[-1].index("evaluation-image:t1") + 1:]
    flags = " ".join(evaluate)
    assert "--max_samples 1 --fid_dims 64 --fid_max_frames_per_video 16" in flags
    assert "--metrics niqe psnr ssim lpips l1 csim fid lse_c lse_d" in flags   # two paper metrics in the images too
    # generate_baseline is generated, not scored (the cross kind is scored on generate_dagan)
    assert evaluate[evaluate.index("--generate_dirs") + 1:][:4] == [
        "generate_baseline_self", "generate_dagan_self", "generate_dagan", "--save_visuals"]
    dagan = [c for c in calls if "generate:t1" in c]
    assert len(dagan) == 2
    self_args = dagan[0][dagan[0].index("generate:t1") + 1:]
    assert self_args[self_args.index("--pairs") + 1] == "/outputs/smoke/dagan_self_pairs.csv"
    assert "--pairs" not in dagan[1]  # the cross set has one pair
    assert (stub["out"] / "smoke" / "dagan_self_pairs.csv").read_text().splitlines() == [
        "source,driving", "talk.png,talk.mp4"]
    summary = (stub["out"] / "summary.md").read_text()
    assert "- smoke settings (reduced; numbers not comparable with a full run): DaGAN self: one pair" in summary
    assert "evaluation: --max_samples 1 --fid_dims 64" in summary
    assert "scored: generate_baseline_self generate_dagan_self generate_dagan (not: generate_baseline)" in summary
    assert "SEEDED RANDOM" not in summary


def test_random_weights_are_written_in_the_base_image_and_mounted_read_only(stub):
    r = reproduce(stub, "--random-weights")
    assert r.returncode == 0, r.stderr
    rw = stub["out"] / "random-weights"
    calls = runs(stub)
    writer = calls[0]
    assert writer[:5] == ["run", "--rm", "-i", "--network", "none"]
    assert [writer[i + 1] for i, w in enumerate(writer) if w == "-v"] == [f"{rw}:/checkpoints"]
    assert writer[-4:] == ["python", "talkingface-base:t1", "-", "/checkpoints"]
    for call in calls[1:]:
        vols = {call[i + 1] for i, w in enumerate(call) if w == "-v"}
        assert f"{rw}:/checkpoints:ro" in vols and not any(v.startswith(f"{stub['ckpt']}:") for v in vols)
    assert "- weights: SEEDED RANDOM" in (stub["out"] / "summary.md").read_text()


def test_random_weights_only_for_smoke_runs(stub, tmp_path):
    r = subprocess.run([str(REPO / "scripts" / "reproduce_all.sh"), "--random-weights", "--data", str(tmp_path)],
                       capture_output=True, text=True, env=stub["env"], timeout=60)
    assert r.returncode == 2 and "--random-weights is for --smoke runs only" in r.stderr


def test_the_stage_modules_it_looks_for_exist():
    # has_stage MODULE: locally the module must be importable (talkingface.evaluate became talkingface.evaluation)
    import importlib.util
    text = (REPO / "scripts" / "reproduce_all.sh").read_text()
    modules = re.findall(r"^if has_stage (\S+) ", text, re.M)
    assert "talkingface.evaluation" in modules
    for module in modules:
        assert importlib.util.find_spec(module) is not None, module


def test_the_random_weights_writer_uses_names_that_exist():
    # --random-weights writes the weights with the kit's own classes (an inline script): they must still be there
    import importlib
    text = (REPO / "scripts" / "reproduce_all.sh").read_text()
    script = text[text.index("random_weights_py() {"):]
    script = script[script.index("<<'PY'\n") + 7:script.index("\nPY\n")]
    compile(script, "random_weights_py", "exec")
    imports = re.findall(r"^from (\S+) import (.+)$", script, re.M)
    assert {m for m, _ in imports} >= {"syncnet.model", "talkingface.metrics.fid"}
    for module, names in imports:
        mod = importlib.import_module(module)
        for name in names.split(","):
            assert hasattr(mod, name.strip()), f"{module}.{name.strip()}"


def test_raw_videos_are_preprocessed_into_the_evaluation_set_the_later_stages_use(stub, tmp_path):
    raw = tmp_path / "raw"
    (raw / "id1").mkdir(parents=True)
    ids = tmp_path / "test_ids.txt"
    ids.write_text("id1\n")
    r = subprocess.run([str(REPO / "scripts" / "reproduce_all.sh"), "--out", str(stub["out"]), "--raw", str(raw),
                        "--test-ids", str(ids), "--prep-args", "--workers 2  --landmarks offline",
                        "--evalset-args", "--self 50 --cross 40", "--train"],
                       capture_output=True, text=True, env=stub["env"], timeout=120)
    assert r.returncode == 0, r.stderr
    calls = runs(stub)
    out, data = stub["out"], stub["out"] / "evaluation_set"
    for call in calls:
        vols = {call[i + 1] for i, w in enumerate(call) if w == "-v"}
        assert vols == {f"{data}:/data", f"{out}:/outputs", f"{stub['ckpt']}:/checkpoints:ro", f"{raw}:/raw:ro"}
    stages = [c[next(i for i, w in enumerate(c) if w.endswith(":t1")):] for c in calls if "weights" not in c]
    prep, evalset = stages[0], stages[1]
    assert prep[0] == "preprocess:t1"
    assert prep[1:7] == ["--input_dir", "/raw", "--output_dir", "/outputs/preprocess/dagan", "--device", "auto"]
    assert prep[-6:] == ["--test_ids", "/outputs/preprocess/test_ids.txt", "--workers", "2", "--landmarks", "offline"]
    assert (out / "preprocess" / "test_ids.txt").read_text() == "id1\n"
    assert evalset == ["talkingface-base:t1", "make-evalset", "/outputs/preprocess/dagan/test", "/data", "--seed", "0",
                       "--overwrite", "--self", "50", "--cross", "40"]
    assert not any("sample" in s for s in stages)                       # the evaluation set is the raw videos'
    train = next(s for s in stages if s[0] == "train:t1")
    assert train[train.index("--data") + 1] == "/outputs/preprocess/dagan"   # --train: the train split made here
    assert any("generate:t1" in s and "/data/gt_self" in s for s in stages)
    summary = (out / "summary.md").read_text()
    assert f"- data: {data} (made by the preprocess stage from the raw videos in {raw})" in summary


def test_raw_smoke_crops_at_the_generated_size_and_skips_the_sample_only_stages(stub, tmp_path):
    (tmp_path / "raw").mkdir()
    r = reproduce(stub, "--raw", str(tmp_path / "raw"))
    assert r.returncode == 0, r.stderr
    stages = [" ".join(c) for c in runs(stub) if "weights" not in c]
    prep = next(s for s in stages if "preprocess:t1" in s)
    assert "--landmarks offline --size 256" in prep and "--test_ids" not in prep
    assert "--self 2 --cross 2" in next(s for s in stages if "make-evalset" in s)
    assert not any("lawdnet" in s or " sample /data" in s or "--pairs" in s for s in stages)
    assert "- not run in a --raw run: LawDNet data of the raw videos" in (stub["out"] / "summary.md").read_text()


@pytest.mark.parametrize(("args", "message"), [
    (["--raw", "{tmp}/absent"], "--raw {tmp}/absent: folder of raw videos not found"),
    (["--raw", "{tmp}", "--data", "{tmp}"], "--raw makes the evaluation set (OUT/evaluation_set): leave --data out"),
    (["--raw", "{tmp}", "--test-ids", "{tmp}/ids.txt"], "--test-ids {tmp}/ids.txt: file not found"),
    (["--data", "{tmp}", "--prep-args", "--workers 2"], "--test-ids, --prep-args and --evalset-args go with --raw"),
])
def test_raw_mistakes_are_one_line_errors(stub, tmp_path, args, message):
    args = [a.format(tmp=tmp_path) for a in args]
    r = subprocess.run([str(REPO / "scripts" / "reproduce_all.sh"), "--out", str(tmp_path / "out"), *args],
                       capture_output=True, text=True, env=stub["env"], timeout=60)
    assert r.returncode == 2 and r.stderr == f"error: {message.format(tmp=tmp_path)}\n"
    assert not stub["log"].exists() or "run " not in stub["log"].read_text()
