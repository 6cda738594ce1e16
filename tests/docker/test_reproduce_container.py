"""scripts/reproduce_all.sh in container mode: the `docker run` commands it issues (network, user, volumes, images).

A stand-in `docker` client records its arguments (DOCKER=...); the real images run in scripts/docker_ci.sh."""
from __future__ import annotations

import os
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
    assert images[:3] == ["talkingface-base:t1"] * 3
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
