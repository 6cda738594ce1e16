"""`python -m lawdnet.train` end to end on CPU: a frame stage and the clip stage one step each, their checkpoints in
the authors' formats (read by lawdnet.load_generator), stage chaining from the previous stage's newest file, and
the one-line refusals of the issue (decay != non_decay, a stage checkpoint of the wrong mouth size, bad data)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from lawdnet.cli.train import main as train_main
from lawdnet.prep import layout
from talkingface.weights import load_torch

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
    assert train_main(_args(training_json, tmp_path, "--stage", "clip_256", "--init", init)) == 0
    clip_dir = tmp_path / "exp" / "clip_training_256"
    ckpt = load_torch(clip_dir / "last-checkpoint.pth.tar")
    assert set(ckpt["state_dict"]) == {"net_g", "net_dI", "net_dV"} and "scheduler" in ckpt
    header = (clip_dir / "losses.csv").read_text().splitlines()[0].split(",")
    assert {"loss_dI", "loss_dV", "loss_g_dV", "loss_sync"} <= set(header)
    shutil.copy(clip_dir / "last-checkpoint.pth.tar", clip_dir / "checkpoint_epoch_1.pth")
    g = load_generator(clip_dir / "checkpoint_epoch_1.pth")
    assert isinstance(g, torch.nn.Module)


@pytest.mark.parametrize("extra, message", [
    (["--stage", "frame_64", "--set", "decay=3"], "decay (3) != non_decay (5)"),
    (["--stage", "frame_128"], "train frame_64 first"),
    (["--stage", "no_such_stage"], "no such stage config"),
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
