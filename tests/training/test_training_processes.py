"""fit in real processes: two gloo processes under torchrun train like one process with the double batch; a run
killed with SIGKILL or stopped by SIGTERM resumes exactly; TensorBoard itself reads the event files."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch
from _training_files import REPO, TOY_SCRIPT, read_csv
from _training_toy import NoisyDataset, ToyTask

from talkingface.training import DistInfo, fit
from talkingface.weights import load_torch


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                OMP_NUM_THREADS="1")


def _start(args):
    return subprocess.Popen([sys.executable, str(TOY_SCRIPT), *map(str, args)], env=_env(), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(path, proc, timeout=60.0):
    end = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {path.name} appeared:\n{proc.stdout.read()}")
        if time.monotonic() > end:
            proc.kill()
            pytest.fail(f"{path.name} did not appear in {timeout} s")
        time.sleep(0.02)


def _losses(run_dir):
    return [(int(r["step"]), float(r["loss"])) for r in read_csv(run_dir / "losses.csv")]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_processes_train_like_one_process_with_the_double_batch(tmp_path, toy_settings):
    ddp = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={_free_port()}", str(TOY_SCRIPT), str(ddp), "--batch", "4", "--epochs", "2"]
    proc = subprocess.run(cmd, env=_env(), cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    one = toy_settings(run_dir=tmp_path / "one", batch_size=8)
    task = ToyTask(DistInfo(device="cpu"))
    fit(task, NoisyDataset(), one, dist=DistInfo(device="cpu"))
    got, want = _losses(ddp), _losses(one.run_dir)
    assert [s for s, _ in got] == [s for s, _ in want] == list(range(1, 13))
    assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=1e-5, abs=1e-6)
    params = json.loads((ddp / "result.json").read_text())["params"]
    for name, value in task.bare().state_dict().items():
        torch.testing.assert_close(torch.tensor(params[name]), value, rtol=1e-5, atol=1e-6)
    kit = load_torch(ddp / "last-checkpoint.pth.tar")["kit_resume"]
    assert kit["world_size"] == 2 and len(kit["rng"]) == 2


def test_a_run_killed_with_sigkill_resumes_exactly(tmp_path, toy_settings):
    killed_dir = tmp_path / "killed"
    args = ["--every-steps", "3", "--dropout", "0.3", "--epochs", "2"]
    killed = _start([killed_dir, *args, "--hang-at", "5"])         # checkpoint after step 3; steps 4, 5 logged
    full = toy_settings(run_dir=tmp_path / "full", checkpoint_every_steps=3)   # the script's settings
    task = ToyTask(DistInfo(device="cpu"), dropout=0.3)
    fit(task, NoisyDataset(), full, dist=DistInfo(device="cpu"))
    _wait_for(killed_dir / "hanging", killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    assert [s for s, _ in _losses(killed_dir)] == [1, 2, 3, 4, 5]
    assert load_torch(killed_dir / "last-checkpoint.pth.tar")["kit_resume"]["global_step"] == 3
    resumed = _start([killed_dir, *args, "--resume"])
    assert resumed.wait(timeout=60) == 0, resumed.stdout.read()
    assert _losses(killed_dir) == _losses(full.run_dir)
    params = json.loads((killed_dir / "result-resumed.json").read_text())["params"]
    assert params == {k: v.tolist() for k, v in task.bare().state_dict().items()}


def test_sigterm_mid_epoch_writes_the_last_checkpoint_and_exits_143(tmp_path):
    run_dir = tmp_path / "run"
    proc = _start([run_dir, "--hang-at", "4", "--epochs", "1"])
    _wait_for(run_dir / "hanging", proc)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    (run_dir / "release").write_text("")
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM, proc.stdout.read()
    assert json.loads((run_dir / "result.json").read_text())["stopped"] is True
    kit = load_torch(run_dir / "last-checkpoint.pth.tar")["kit_resume"]
    assert (kit["epoch"], kit["step_in_epoch"], kit["global_step"]) == (0, 5, 5)
    resumed = _start([run_dir, "--epochs", "1", "--resume"])
    assert resumed.wait(timeout=60) == 0, resumed.stdout.read()
    assert [s for s, _ in _losses(run_dir)] == list(range(1, 13))


def test_tensorboard_reads_the_event_files(tmp_path, toy_settings):
    """TensorBoard's EventAccumulator imports TensorFlow: in a process of its own, after triton (the other order
    segfaults in this environment, and a test process must not load TensorFlow)."""
    pytest.importorskip("tensorboard")
    s = toy_settings(epochs=1)
    fit(ToyTask(DistInfo(device="cpu")), NoisyDataset(), s, dist=DistInfo(device="cpu"))
    code = ("import importlib.util, json, sys\n"
            "if importlib.util.find_spec('triton'): import triton\n"
            "from tensorboard.backend.event_processing.event_accumulator import EventAccumulator\n"
            "ea = EventAccumulator(sys.argv[1], size_guidance={'scalars': 0, 'images': 0}); ea.Reload()\n"
            "print(json.dumps({'loss': [[e.step, e.value] for e in ea.Scalars('train/loss')],"
            " 'images': ea.Tags()['images']}))\n")
    out = subprocess.run([sys.executable, "-c", code, str(s.run_dir / "tensorboard")], capture_output=True,
                         text=True, timeout=120, env=_env(), check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    want = _losses(s.run_dir)
    assert [st for st, _ in got["loss"]] == [st for st, _ in want]
    assert [v for _, v in got["loss"]] == pytest.approx([v for _, v in want], rel=1e-6)
    assert got["images"] == ["images/input"]


def test_sigterm_to_torchrun_stops_both_processes_at_the_same_step_with_one_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={_free_port()}", str(TOY_SCRIPT), str(run_dir), "--hang-at", "4", "--epochs", "1"]
    proc = subprocess.Popen(cmd, env=_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_for(run_dir / "hanging", proc)
    proc.send_signal(signal.SIGTERM)                  # torchrun forwards it to both workers
    time.sleep(0.3)
    (run_dir / "release").write_text("")
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode != 0 and "got signal: 15" in out      # torchrun reports the signal itself
    kit = load_torch(run_dir / "last-checkpoint.pth.tar")["kit_resume"]
    assert (kit["global_step"], kit["step_in_epoch"], kit["world_size"], len(kit["rng"])) == (5, 5, 2, 2)
    assert json.loads((run_dir / "result.json").read_text())["stopped"] is True
