"""fit in one process: files of a run (checkpoints readable with weights_only, losses.csv, TensorBoard events,
settings.yaml), exact resume, SIGTERM, a full disk, a changed world size, settings errors."""
import errno
import signal

import pytest
import torch
from _training_files import read_csv
from _training_toy import NoisyDataset, ToyTask
from tb_events import read_events

from talkingface.errors import ConfigError, OutputError
from talkingface.training import KIT_KEY, DistInfo, TrainingDiverged, fit, newest_checkpoint
from talkingface.weights import load_torch

CPU = DistInfo(device="cpu")


def run(settings, resume=None, **task_kw):
    task = ToyTask(CPU, **task_kw)
    return task, fit(task, NoisyDataset(), settings, dist=CPU, resume=resume)


def losses(run_dir):
    return [(int(r["step"]), float(r["loss"])) for r in read_csv(run_dir / "losses.csv")]


def test_a_run_writes_checkpoints_losses_events_and_settings(toy_settings):
    s = toy_settings(checkpoint_every_steps=5)
    task, result = run(s)
    d = s.run_dir
    assert (result.epochs_done, result.steps, result.stopped_by_signal) == (2, 24, False)
    assert result.last_checkpoint == d / "last-checkpoint.pth.tar"
    assert sorted(p.name for p in d.glob("*.pth.tar")) == [
        "00000000-checkpoint.pth.tar", "00000001-checkpoint.pth.tar", "last-checkpoint.pth.tar"]
    payload = load_torch(d / "last-checkpoint.pth.tar")               # weights_only=True
    kit = payload[KIT_KEY]
    assert set(payload) == {"net", "optimizer", "scheduler", "epoch", KIT_KEY} and payload["epoch"] == 1
    assert (kit["version"], kit["epoch"], kit["step_in_epoch"], kit["global_step"], kit["world_size"]) == (1, 2, 0,
                                                                                                        24, 1)
    assert kit["settings"]["batch_size"] == 4 and kit["scaler"] is None and len(kit["rng"]) == 1
    assert load_torch(d / "00000000-checkpoint.pth.tar")[KIT_KEY]["global_step"] == 12
    assert "batch_size: 4" in (d / "settings.yaml").read_text()

    rows = read_csv(d / "losses.csv")
    assert list(rows[0])[:3] == ["step", "epoch", "time"]
    assert [(int(r["step"]), int(r["epoch"]), float(r["loss"])) for r in rows] == [
        (x["step"], x["epoch"], x["loss"]) for x in result.losses]
    events = read_events(d / "tensorboard")
    scalars = {}
    for e in events:
        for v in e.summary.value:
            scalars.setdefault(v.tag, []).append((e.step, v.simple_value if not v.HasField("image") else v.image))
    assert [s for s, _ in scalars["train/loss"]] == list(range(1, 25))
    assert [v for _, v in scalars["train/loss"]] == pytest.approx([x["loss"] for x in result.losses], rel=1e-6)
    assert [s for s, _ in scalars["epoch/loss"]] == [12, 24]
    assert scalars["epoch/loss"][0][1] == pytest.approx(sum(x["loss"] for x in result.losses[:12]) / 12, rel=1e-6)
    assert [s for s, _ in scalars["eval/weight_norm"]] == [12, 24]
    image = scalars["images/input"][0][1]
    assert (image.height, image.width, image.colorspace) == (2, 4, 3) and image.encoded_image_string[:4] == b"\x89PNG"
    with pytest.raises(ConfigError, match="already holds checkpoints"):     # a new run never overwrites a run
        run(s)


@pytest.mark.parametrize("stop_at", [5, 12])          # mid-epoch, and at the epoch boundary
def test_resume_through_the_api_continues_exactly(toy_settings, tmp_path, stop_at):
    full_task, full = run(toy_settings(run_dir=tmp_path / "full"), dropout=0.3)
    part = toy_settings(run_dir=tmp_path / "part", max_steps=stop_at)
    _, first = run(part, dropout=0.3)
    assert first.steps == stop_at and first.last_checkpoint.name == "last-checkpoint.pth.tar"
    task, second = run(toy_settings(run_dir=tmp_path / "part"), resume=tmp_path / "part", dropout=0.3)
    assert second.steps == 24 and [x["step"] for x in second.losses] == list(range(stop_at + 1, 25))
    assert losses(tmp_path / "part") == losses(tmp_path / "full")
    for a, b in zip(full_task.bare().parameters(), task.bare().parameters(), strict=True):
        assert torch.equal(a, b)


def test_sigterm_stops_after_the_step_with_a_checkpoint_and_resume_continues(toy_settings, tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    _, full = run(toy_settings(run_dir=tmp_path / "full"))
    s = toy_settings(run_dir=tmp_path / "part")
    _, stopped = run(s, sigterm_at=7)
    assert (stopped.stopped_by_signal, stopped.signal_number, stopped.steps) == (True, signal.SIGTERM, 8)
    assert signal.getsignal(signal.SIGTERM) is before
    kit = load_torch(stopped.last_checkpoint)[KIT_KEY]
    assert (kit["epoch"], kit["step_in_epoch"], kit["global_step"]) == (0, 8, 8)
    run(s, resume=s.run_dir)
    assert losses(tmp_path / "part") == losses(tmp_path / "full")


# A full disk as Python reports it, and as torch's zip writer reported it on a CI machine whose disk was full.
FULL_DISK = [OSError(errno.ENOSPC, "No space left on device"),
             RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 230021248 vs 230021140")]


@pytest.mark.parametrize("error", FULL_DISK, ids=["oserror", "torch-zip-writer"])
def test_a_full_disk_keeps_the_previous_checkpoint_and_leaves_no_temporary_file(toy_settings, monkeypatch, error):
    s = toy_settings(epochs=1, max_steps=3)
    run(s)
    last = s.run_dir / "last-checkpoint.pth.tar"
    before = last.read_bytes()

    def full_disk(obj, f, *a, **k):
        f.write(b"partial")
        raise error

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OutputError) as err:
        run(toy_settings(epochs=1), resume=s.run_dir)
    text = str(err.value)
    assert "\n" not in text and str(error.args[-1]) in text and "MiB free in" in text
    assert f"cannot write checkpoint {s.run_dir / '00000000-checkpoint.pth.tar'}" in text
    assert f"the previous checkpoint {last} is intact" in text
    assert last.read_bytes() == before
    assert sorted(p.name for p in s.run_dir.iterdir() if p.name.startswith(".")) == []
    assert not (s.run_dir / "00000000-checkpoint.pth.tar").exists()


def _set_world_size(path, world):
    payload = torch.load(path, weights_only=True)
    payload[KIT_KEY]["world_size"] = world
    torch.save(payload, path)


def test_another_world_size_resumes_only_at_an_epoch_boundary(toy_settings, tmp_path):
    mid = toy_settings(run_dir=tmp_path / "mid", max_steps=5)
    run(mid)
    _set_world_size(mid.run_dir / "last-checkpoint.pth.tar", 2)
    with pytest.raises(ConfigError, match=r"5 steps into epoch 0.*same world size \(world size 2 -> 1\)"):
        run(toy_settings(run_dir=mid.run_dir), resume=mid.run_dir)
    edge = toy_settings(run_dir=tmp_path / "edge", max_steps=12)
    run(edge)
    _set_world_size(edge.run_dir / "last-checkpoint.pth.tar", 2)
    _, result = run(toy_settings(run_dir=edge.run_dir), resume=edge.run_dir / "last-checkpoint.pth.tar")
    assert result.steps == 24


def test_newest_checkpoint_is_the_highest_global_step(toy_settings):
    s = toy_settings(epochs=2, checkpoint_every_steps=5, max_steps=17)
    run(s)                                        # epoch 0 at step 12, last at step 17
    assert newest_checkpoint(s.run_dir) == s.run_dir / "last-checkpoint.pth.tar"
    (s.run_dir / "last-checkpoint.pth.tar").unlink()
    assert newest_checkpoint(s.run_dir) == s.run_dir / "00000000-checkpoint.pth.tar"
    with pytest.raises(ConfigError, match="no checkpoint"):
        run(s, resume=s.run_dir.parent)


def test_a_checkpoint_without_kit_resume_is_refused(toy_settings, tmp_path):
    path = tmp_path / "plain.pth.tar"
    torch.save({"net": {}}, path)
    with pytest.raises(ConfigError, match="no kit_resume"):
        run(toy_settings(), resume=path)


def test_worker_processes_do_not_change_the_losses(toy_settings, tmp_path):
    run(toy_settings(run_dir=tmp_path / "w0", epochs=1))
    run(toy_settings(run_dir=tmp_path / "w2", epochs=1, num_workers=2))
    assert losses(tmp_path / "w0") == losses(tmp_path / "w2")


def test_precision_and_settings_errors_are_one_line(toy_settings):
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU"):
        run(toy_settings(precision="fp16"))
    with pytest.raises(ConfigError, match="epoch_checkpoint_name must contain"):
        run(toy_settings(epoch_checkpoint_name="ckpt.pth"))
    with pytest.raises(ConfigError, match="batch_size must be an integer >= 1"):
        run(toy_settings(batch_size=0))
    _, result = run(toy_settings(precision="bf16", max_steps=2, grad_clip=1.0))     # CPU autocast
    assert result.steps == 2 and all(x["loss"] == x["loss"] for x in result.losses)


def test_a_loss_key_appearing_later_extends_the_csv_header(tmp_path):
    from talkingface.training.tracking import Tracker

    t = Tracker(tmp_path, enabled=True)
    t.log_step(1, 0, {"a": 1.0})
    t.log_step(2, 0, {"a": 2.0, "b": 0.5})
    t.close()
    rows = read_csv(tmp_path / "losses.csv")
    assert list(rows[0]) == ["step", "epoch", "time", "a", "b"]
    assert [(r["a"], r["b"]) for r in rows] == [("1.0", ""), ("2.0", "0.5")]
    again = Tracker(tmp_path, enabled=True, start_step=1)          # a resume from step 1 drops step 2
    again.close()
    assert [r["step"] for r in read_csv(tmp_path / "losses.csv")] == ["1"]


def test_progress_bar_and_sparse_logging(toy_settings, capsys):
    _, result = run(toy_settings(epochs=1, progress=True, log_every_steps=5))
    assert [x["step"] for x in result.losses] == [5, 10]
    assert "epoch 0" in capsys.readouterr().err


class _DivergingTask(ToyTask):
    """The toy task whose loss (and so its gradients and weights) turns NaN at step ``nan_at`` (0-based)."""

    nan_at = 4

    def train_step(self, batch, ctx):
        if ctx.step != self.nan_at:
            return super().train_step(batch, ctx)
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y) * float("nan")
        ctx.optimize(loss, [self.opt])
        return {"loss": loss.detach(), "lr": self.opt.param_groups[0]["lr"]}


def test_a_non_finite_loss_stops_the_run_without_saving_its_weights(toy_settings):
    s = toy_settings(checkpoint_every_steps=2, log_every_steps=1)
    task = _DivergingTask(DistInfo())
    with pytest.raises(TrainingDiverged, match=r"^step 5: loss nan \(training diverged\); stopped without saving") as e:
        fit(task, NoisyDataset(), s)
    assert "\n" not in str(e.value) and "last-checkpoint" in str(e.value) and "--grad_clip (e.g. 1)" in str(e.value)
    newest = newest_checkpoint(s.run_dir)
    kit = load_torch(newest)[KIT_KEY]
    assert kit["global_step"] == 4                        # the checkpoint of step 4 is kept, none after it
    weights = load_torch(newest)["net"]
    assert all(torch.isfinite(v).all() for v in weights.values())
    rows = read_csv(s.run_dir / "losses.csv")
    assert [r["step"] for r in rows][-1] == "5" and rows[-1]["loss"] == "nan"
