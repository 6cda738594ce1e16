"""`python -m lawdnet.train` end to end on CPU: a frame stage and the clip stage one step each, their checkpoints in
the authors' formats (read by lawdnet.load_generator), stage chaining from the previous stage's newest file, and
the one-line refusals of the issue (decay != non_decay, a stage checkpoint of the wrong mouth size, bad data)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import yaml
from tb_events import read_events

from lawdnet.cli.train import main as train_main
from lawdnet.prep import layout
from talkingface.weights import load_torch

REPO = Path(__file__).resolve().parents[2]

SMALL = ["--set", "mouth_region_size=64", "--set", "batch_size=1", "--set", "augment_num=1"]


@pytest.fixture(scope="module")
def training_json(golden_training_root) -> Path:
    """The golden dataset's tiny training set (2 videos of 7 and 6 clips, 52x40 crops) in the authors' layout."""
    return golden_training_root / layout.JSON


def _args(json_path, log_dir, *extra):
    return ["--data", str(json_path), "--log_dir", str(log_dir), "--name", "exp", "--random_frozen", "0",
            "--workers", "0", "--no_progress", "--epochs", "1", "--max_steps", "1", "--device", "cpu", *SMALL,
            *map(str, extra)]


def test_frame_then_clip_stage_write_the_authors_files_and_chain(training_json, tmp_path, caplog):
    from lawdnet import load_generator

    assert train_main(_args(training_json, tmp_path, "--stage", "frame_64")) == 0
    frame_dir = tmp_path / "exp" / "frame_training_64"
    ckpt = load_torch(frame_dir / "last-checkpoint.pth.tar")
    assert set(ckpt) >= {"epoch", "state_dict", "optimizer", "kit_resume", "kit_stage"}
    assert set(ckpt["state_dict"]) == {"net_g", "net_dI"}
    assert all(k.startswith("module.") for k in ckpt["state_dict"]["net_g"])
    rows = (frame_dir / "losses.csv").read_text().splitlines()
    assert rows[0].split(",")[3:] and {"loss_dI", "loss_g_perception", "loss_g_dI", "loss_img", "loss_g"} <= set(
        rows[0].split(","))
    # the frame stage's epoch file, as the authors name it (epochs count from 1)
    shutil.copy(frame_dir / "last-checkpoint.pth.tar", frame_dir / "netG_model_epoch_1.pth")
    load_generator(frame_dir / "netG_model_epoch_1.pth")
    # frame_128 (here at mouth 64 too: --set applies to every stage) chains from frame_64's newest epoch file
    caplog.set_level("WARNING")
    assert train_main(_args(training_json, tmp_path, "--stage", "frame_128")) == 0
    assert f"generator initialised from {frame_dir / 'netG_model_epoch_1.pth'}" in caplog.text


def test_clip_stage_one_step_with_the_sync_loss(training_json, tmp_path):
    from lawdnet import load_generator

    init = tmp_path / "init.pth"
    from lawdnet.checkpoint import build_generator, save_checkpoint
    from lawdnet.modules.discriminator import Discriminator

    save_checkpoint(init, build_generator(), Discriminator(3), kind="netG_model_epoch", epoch=9)
    # 2 steps: the whole epoch (2 clips, batch 1), whose end logs the image grids
    assert train_main(_args(training_json, tmp_path, "--stage", "clip_256", "--init", init, "--max_steps", 2)) == 0
    clip_dir = tmp_path / "exp" / "clip_training_256"
    ckpt = load_torch(clip_dir / "last-checkpoint.pth.tar")
    assert set(ckpt["state_dict"]) == {"net_g", "net_dI", "net_dV"} and "scheduler" in ckpt
    header = (clip_dir / "losses.csv").read_text().splitlines()[0].split(",")
    assert {"loss_dI", "loss_dV", "loss_g_dV", "loss_sync", "sync_score"} <= set(header)
    # sync_score is the SyncNet's mean score s of the generated mouths: loss_sync = w * mean((s_i - 1)^2) >=
    # w * (1 - mean s)^2 (Jensen), with w the config's lamb_syncnet_perception
    lines = (clip_dir / "losses.csv").read_text().splitlines()[1:]
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines]
    w = yaml.safe_load((REPO / "config" / "lawdnet" / "clip_256.yaml").read_text())["lamb_syncnet_perception"]
    for row in rows:
        assert float(row["loss_sync"]) >= w * (1 - float(row["sync_score"])) ** 2 * (1 - 1e-4)
    tags = {v.tag: v for e in read_events(clip_dir / "tensorboard") for v in e.summary.value}
    assert {"train/loss_sync", "train/sync_score", "images/real_vs_generated", "images/mouths"} <= set(tags), \
        sorted(tags)
    assert (tags["images/mouths"].image.width, tags["images/mouths"].image.height) == (5 * 256, 2 * 256)
    shutil.copy(clip_dir / "last-checkpoint.pth.tar", clip_dir / "checkpoint_epoch_1.pth")
    g = load_generator(clip_dir / "checkpoint_epoch_1.pth")
    assert isinstance(g, torch.nn.Module)


@pytest.mark.parametrize("extra, message", [
    (["--stage", "frame_64", "--set", "decay=3"], "decay (3) != non_decay (5)"),
    (["--stage", "frame_128"], "train frame_64 first"),
    (["--stage", "no_such_stage"], "no such stage config"),
    (["--stage", "frame_64", "--epochs", "11"], "--epochs 11 is more than the 10 epochs of stage frame_64"),
])
def test_refusals_in_one_line(training_json, tmp_path, capsys, extra, message):
    code = train_main(_args(training_json, tmp_path, *extra))
    err = capsys.readouterr().err.strip()
    assert code != 0 and message in err and len(err.splitlines()) == 1, err


def test_a_stage_checkpoint_of_the_wrong_mouth_size_is_named(training_json, tmp_path, capsys):
    assert train_main(_args(training_json, tmp_path, "--stage", "frame_64")) == 0
    frame_dir = tmp_path / "exp" / "frame_training_64"
    ckpt = load_torch(frame_dir / "last-checkpoint.pth.tar")
    ckpt["kit_stage"]["mouth_region_size"] = 256
    torch.save(ckpt, frame_dir / "netG_model_epoch_10.pth")
    code = train_main(_args(training_json, tmp_path, "--stage", "frame_128"))
    err = capsys.readouterr().err.strip()
    assert code != 0 and "a stage checkpoint at mouth 256" in err and len(err.splitlines()) == 1, err


def _env():
    import os

    repo = Path(__file__).resolve().parents[2]
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]),
                OMP_NUM_THREADS="1", TQDM_DISABLE="1")


def _losses(run_dir: Path) -> dict[int, dict[str, str]]:
    import csv

    with open(run_dir / "losses.csv", newline="") as fh:
        return {int(r["step"]): r for r in csv.DictReader(fh)}


@pytest.mark.slow
def test_sigkill_then_resume_continues_the_same_loss_sequence(training_json, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    repo = Path(__file__).resolve().parents[2]
    # 2 videos x augment 3 / batch 1 = 6 steps, a mid-epoch checkpoint every 2 steps
    common = ["--data", str(training_json), "--log_dir", str(tmp_path), "--random_frozen", "0", "--workers", "0",
              "--no_progress", "--epochs", "1", "--device", "cpu", "--deterministic", "--checkpoint_every_steps",
              "2", "--stage", "frame_64", "--set", "mouth_region_size=64", "--set", "batch_size=1", "--set",
              "augment_num=3"]
    cli = [sys.executable, "-m", "lawdnet.train"]
    full = subprocess.run([*cli, *common, "--name", "full"], env=_env(), cwd=repo, capture_output=True, text=True,
                          timeout=300, check=False)
    assert full.returncode == 0, full.stderr
    killed = subprocess.Popen([*cli, *common, "--name", "killed"], env=_env(), cwd=repo, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    last = tmp_path / "killed" / "frame_training_64" / "last-checkpoint.pth.tar"
    end = time.monotonic() + 240
    while not last.exists() and killed.poll() is None and time.monotonic() < end:
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert last.exists(), killed.stderr.read()
    step = load_torch(last)["kit_resume"]["global_step"]
    assert step in (2, 4), f"killed after step {step}: expected a mid-epoch checkpoint"
    resumed = subprocess.run([*cli, *common, "--name", "killed", "--resume"], env=_env(), cwd=repo,
                             capture_output=True, text=True, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stderr
    want, got = _losses(tmp_path / "full" / "frame_training_64"), _losses(last.parent)
    assert sorted(got) == sorted(want) == list(range(1, 7))
    for s in range(step + 1, 7):
        assert {k: v for k, v in got[s].items() if k != "time"} == {k: v for k, v in want[s].items() if k != "time"}


@pytest.mark.slow
def test_two_gloo_processes_run_a_stage(training_json, tmp_path):
    import socket
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                          "--master_addr=127.0.0.1", f"--master_port={port}", "-m", "lawdnet.train",
                          *_args(training_json, tmp_path, "--stage", "frame_64")], env=_env(), cwd=repo,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    ckpt = load_torch(tmp_path / "exp" / "frame_training_64" / "last-checkpoint.pth.tar")
    assert ckpt["kit_resume"]["world_size"] == 2 and set(ckpt["state_dict"]) == {"net_g", "net_dI"}
