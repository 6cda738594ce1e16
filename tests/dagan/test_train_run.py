"""`python -m dagan.train` end to end on a tiny model and synthetic clips: the run's files, a checkpoint that
animates, exact resume after SIGKILL, two gloo processes under torchrun, and the bad inputs of the issue.

References: the authors' checkpoint layout and ``demo.py`` load rule (see test_train_task.py), an uninterrupted run
for the resumed one, and the core's promise that world size does not change the sample order.
"""
from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from tb_events import read_events

from dagan.cli.train import main as train_main
from talkingface.weights import load_torch

REPO = Path(__file__).resolve().parents[2]
TINY_YAML = {
    "dataset_params": {"frame_shape": [64, 64, 3]},
    "model_params": {
        "common_params": {"num_kp": 5, "num_channels": 3, "estimate_jacobian": True},
        "kp_detector_params": {"temperature": 0.1, "block_expansion": 8, "max_features": 32, "scale_factor": 0.25,
                               "num_blocks": 2},
        "generator_params": {"block_expansion": 8, "max_features": 32, "num_down_blocks": 2,
                             "num_bottleneck_blocks": 1, "estimate_occlusion_map": True,
                             "dense_motion_params": {"block_expansion": 8, "max_features": 32, "num_blocks": 2,
                                                     "scale_factor": 0.25}},
        "discriminator_params": {"scales": [1], "block_expansion": 8, "max_features": 32, "num_blocks": 2,
                                 "use_kp": True},
    },
    # 64 px frames: VGG19's last slice needs >= 16 px, so the pyramid stops at 1/4
    "train_params": {"num_epochs": 2, "num_repeats": 2, "batch_size": 2, "checkpoint_freq": 1,
                     "scales": [1, 0.5, 0.25]},
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, make_video):
    """(config path, data root): two train identities, one test identity, 12-frame 64x64 mp4 clips."""
    root = tmp_path_factory.mktemp("dagan_train")
    clip = make_video(frames=12, size=(64, 64))
    for split, names in (("train", ["a#v#000000#000011.mp4", "b#v#000000#000011.mp4"]),
                         ("test", ["t#v#000000#000011.mp4"])):
        (root / "data" / split).mkdir(parents=True)
        for name in names:
            shutil.copy(clip, root / "data" / split / name)
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_YAML))
    return config, root / "data"


def _args(config, data, log_dir, *extra):
    return ["--config", str(config), "--data", str(data), "--log_dir", str(log_dir), "--random_frozen", "0",
            "--workers", "0", "--eval_pairs", "2", "--no_progress", "--deterministic", *map(str, extra)]


def _losses(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "losses.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_run_writes_the_authors_checkpoints_that_animate(tiny_run, tmp_path):
    import dagan

    config, data = tiny_run
    assert train_main(_args(config, data, tmp_path, "--name", "_a")) == 0
    run = tmp_path / "tiny_a"
    assert {p.name for p in run.glob("*.pth.tar")} == {"00000000-checkpoint.pth.tar", "00000001-checkpoint.pth.tar",
                                                      "last-checkpoint.pth.tar"}
    rows = _losses(run)
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]           # 2 ids x 2 repeats / batch 2, 2 epochs
    assert {"perceptual", "gen_gan", "feature_matching", "equivariance_value", "equivariance_jacobian",
            "kp_distance", "disc_gan"} <= set(rows[0])
    assert all(np.isfinite(float(v)) for r in rows for k, v in r.items() if k not in ("step", "epoch", "time"))
    ckpt = load_torch(run / "00000001-checkpoint.pth.tar")
    assert ckpt["epoch"] == 1 and "kit_resume" in ckpt
    assert {"optimizer_generator", "optimizer_kp_detector", "optimizer_discriminator"} <= set(ckpt)
    assert list(yaml.safe_load((run / "config.yaml").read_text())["train_params"]["scales"]) == [1, 0.5, 0.25]
    tags = {}
    for event in read_events(run / "tensorboard"):
        for value in event.summary.value:
            tags[value.tag] = value
    assert {"train/perceptual", "train/disc_gan", "eval/total", "eval/perceptual"} <= set(tags), sorted(tags)
    grid = tags["images/train"].image           # source | driving | prediction | depth | keypoints, 2 rows
    assert (grid.width, grid.height) == (5 * 64, 2 * 64)
    model = dagan.load_model(run / "last-checkpoint.pth.tar", run / "random_depth" / "encoder.pth",
                             run / "random_depth" / "depth.pth", config=run / "config.yaml", kp_num=None,
                             frame_size=64)
    frames = np.stack([np.full((64, 64, 3), 40 * i, np.uint8) for i in range(3)])
    out = model.animate(frames[0], frames)
    assert out.shape == (3, 64, 64, 3) and np.isfinite(out).all()


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                OMP_NUM_THREADS="1", TQDM_DISABLE="1")


def _cli(*args):
    return [sys.executable, "-m", "dagan.train", *args]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_gives_the_losses_of_an_uninterrupted_run(tiny_run, tmp_path):
    config, data = tiny_run
    # 2 ids x 4 repeats / batch 2 = 4 steps an epoch, 2 epochs; a mid-epoch checkpoint after step 3
    common = _args(config, data, tmp_path, "--num_repeats", "4", "--checkpoint_every_steps", "3")
    full = subprocess.run(_cli(*common, "--name", "_full"), env=_env(), cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)
    assert full.returncode == 0, full.stderr
    killed = subprocess.Popen(_cli(*common, "--name", "_killed"), env=_env(), cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    last = tmp_path / "tiny_killed" / "last-checkpoint.pth.tar"
    end = time.monotonic() + 240
    while not last.exists() and killed.poll() is None and time.monotonic() < end:
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert last.exists(), killed.stderr.read()
    step = load_torch(last)["kit_resume"]["global_step"]
    assert step in (3, 6), f"killed after step {step}: expected a mid-epoch checkpoint to resume from"
    resumed = subprocess.run(_cli(*common, "--checkpoint", str(last)), env=_env(), cwd=REPO,
                             capture_output=True, text=True, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stderr
    want = {int(r["step"]): r for r in _losses(tmp_path / "tiny_full")}
    got = {int(r["step"]): r for r in _losses(tmp_path / "tiny_killed")}
    assert sorted(got) == sorted(want) == list(range(1, 9))
    for s in range(step + 1, 9):
        for key, value in want[s].items():
            if key != "time":
                assert got[s][key] == value, (s, key)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_under_torchrun(tiny_run, tmp_path):
    """2 processes x batch 1 against 1 process x batch 2: the same samples in the same order; the losses differ
    only through what is per process by design on the CPU (BatchNorm statistics over the process's batch —
    SyncBatchNorm is CUDA-only — and each process's own random TPS draws), see docs/dagan_training.md."""
    config, data = tiny_run
    common = _args(config, data, tmp_path, "--epochs", "1", "--eval_pairs", "0")
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                          "--master_addr=127.0.0.1", f"--master_port={_free_port()}", "-m", "dagan.train", *common,
                          "--batchsize", "1", "--name", "_ddp"], env=_env(), cwd=REPO, capture_output=True,
                         text=True, timeout=300, check=False)
    assert ddp.returncode == 0, ddp.stdout + ddp.stderr
    one = subprocess.run(_cli(*common, "--batchsize", "2", "--name", "_one"), env=_env(), cwd=REPO,
                         capture_output=True, text=True, timeout=300, check=False)
    assert one.returncode == 0, one.stderr
    a, b = _losses(tmp_path / "tiny_ddp"), _losses(tmp_path / "tiny_one")
    assert [r["step"] for r in a] == [r["step"] for r in b] == ["1", "2"]
    ckpt = load_torch(tmp_path / "tiny_ddp" / "last-checkpoint.pth.tar")
    assert ckpt["kit_resume"]["world_size"] == 2 and len(ckpt["kit_resume"]["rng"]) == 2
    # the GAN terms see the same images and keypoints up to BatchNorm: same order of magnitude
    for key in ("perceptual", "disc_gan"):
        assert float(a[0][key]) == pytest.approx(float(b[0][key]), rel=0.5)


@pytest.mark.parametrize("make, message", [
    (lambda root: root / "missing", "missing"),
    (lambda root: (root / "empty" / "train").mkdir(parents=True) or (root / "empty" / "test").mkdir() or
     root / "empty", "empty"),
])
def test_bad_data_folders_fail_in_one_line(make, message, tiny_run, tmp_path, capsys):
    config, _ = tiny_run
    code = train_main(_args(config, make(tmp_path), tmp_path / "log"))
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert not (tmp_path / "log").exists() or not list((tmp_path / "log").rglob("*.pth.tar"))


def test_init_from_a_checkpoint_of_the_other_generator_is_named(tiny_run, tmp_path, capsys):
    import torch

    config, data = tiny_run
    bad = tmp_path / "spade.pth.tar"
    torch.save({"generator": {"decoder.G_middle_0.conv_0.weight": torch.zeros(1)}, "kp_detector": {}}, bad)
    code = train_main(_args(config, data, tmp_path, "--init", str(bad)))
    err = capsys.readouterr().err
    assert code != 0 and "SPADEDepthAwareGenerator" in err and len(err.strip().splitlines()) == 1, err
