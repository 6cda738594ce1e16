"""LawDNet SyncNet training: the pairs (balanced labels, shifts, the clip's rows, the sync loss's own crops), a CLI run
whose checkpoint load_syncnet reads strictly, learning on synthetic in-sync data, and an exact resume through fit."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lawdnet.checkpoint import load_syncnet
from lawdnet.modules.syncnet import SyncNet
from lawdnet.prep import layout
from lawdnet.prep.training_json import build_training_json
from lawdnet.train.dataset import ClipDataset
from lawdnet.train.losses import ClipLosses, frames_first
from lawdnet.train.syncnet_data import SyncPairs, load_sync_videos, split_videos
from lawdnet.train.syncnet_task import SyncNetTask, sync_loss
from talkingface.errors import ConfigError
from talkingface.training import RunSettings, fit

CLIPS = {"a": 10, "b": 8}
LEVELS = (0.15, 0.85)            # mouth brightness of a frame whose bit is 0 / 1
POOL = 32                        # the learning and resume tests train on 32x32 mouths (CPU budget)
STEPS = 70                       # learning-test steps of 16 pairs (video a: 10 clips, 20 pairs a repeat)


def _write_video(root: Path, video: str, clips: int, rng: np.random.Generator) -> None:
    """Frames (40x32 JPEGs: flat grey, dark in even clips and bright in odd ones, + light texture) and dp1 rows that
    follow the brightness (±1 + noise): a window shifted by 5 … 9 frames mixes clips or takes the other level."""
    n = clips * 9
    bits = (np.arange(n) // 9) % 2
    for t in range(n):
        image = np.clip(LEVELS[bits[t]] + 0.05 * rng.standard_normal((40, 32, 3)), 0, 1)
        path = root / layout.CROPS / video / f"{t // 9:06d}" / layout.frame_name(t)
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), (image * 255).round().astype(np.uint8))
    rows = {"dp1": np.repeat((2.0 * bits - 1)[:, None], 29, 1) + 0.1 * rng.standard_normal((n, 29)),
            "dp2": rng.standard_normal((n, 29))}
    for step, record in (("frames", {"frames": n}), ("crops", {}), ("dp1", {}), ("dp2", {})):
        (root / ".done" / step).mkdir(parents=True, exist_ok=True)
        (root / ".done" / step / f"{video}.json").write_text(json.dumps(record))
    for kind, values in rows.items():
        layout.feature_path(root, kind, video).parent.mkdir(parents=True, exist_ok=True)
        np.savetxt(layout.feature_path(root, kind, video), values)


@pytest.fixture(scope="module")
def json_path(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("syncnet_data")
    rng = np.random.default_rng(7)
    for video, clips in CLIPS.items():
        _write_video(root, video, clips, rng)
    summary = build_training_json(root, list(CLIPS), path_root=str(root))
    assert summary["videos"] == 2 and summary["clips"] == sum(CLIPS.values())
    return root / layout.JSON


def test_labels_are_balanced_and_shifts_respect_min_shift(json_path):
    pairs = SyncPairs(json_path, min_shift=5, seed=3)
    assert len(pairs) == 2 * sum(CLIPS.values()) and not pairs.left_out
    draws = [pairs.draw(i) for i in range(len(pairs))]
    assert sum(shift == 0 for _, _, shift in draws) * 2 == len(pairs)
    assert all(abs(shift) >= 5 for i, (_, _, shift) in enumerate(draws) if i % 2)
    assert min(s for _, _, s in draws) < 0 < max(s for _, _, s in draws)          # both directions
    pairs.set_epoch(1)
    assert [pairs.draw(i) for i in range(len(pairs))] != draws                     # a new epoch, new windows
    pairs.set_epoch(0)
    assert [pairs.draw(i) for i in range(len(pairs))] == draws                     # (seed, epoch, index) only
    exact = SyncPairs(json_path, min_shift=6, max_shift=6)
    assert {abs(exact.draw(i)[2]) for i in range(1, len(exact), 2)} == {6}


def test_in_sync_window_is_the_clips_rows_and_off_sync_the_shifted_ones(json_path):
    pairs = SyncPairs(json_path)
    data = json.loads(json_path.read_text())
    timeline = {v: np.concatenate([np.asarray(c["deep_speech_list"], np.float32) for c in e["clip_data_list"]])
                for v, e in data.items()}
    for i in (0, 1, 6, 7):
        vi, ci, shift = pairs.draw(i)
        video = pairs.videos[vi]
        entry = data[video.name]["clip_data_list"][ci]
        item = pairs[i]
        assert item["label"] == (shift == 0) and item["audio"].shape == (29, 9) and item["video"] == video.name
        start = video.starts[ci] + shift
        assert video.starts[ci] == 9 * ci
        assert np.array_equal(item["audio"], timeline[video.name][start:start + 9].T)
        if shift == 0:
            assert np.array_equal(item["audio"], np.asarray(entry["deep_speech_list"], np.float32).T)


class _Recorder(nn.Module):
    """A SyncNet stand-in that keeps the inputs the clip loss gives it."""

    def forward(self, image, audio):
        self.seen = (image.detach().clone(), audio.detach().clone())
        return torch.zeros(image.shape[0], 1, 8, 8)


class _D(nn.Module):
    def forward(self, x):
        return x, x.mean((1, 2, 3))


@pytest.mark.parametrize("mouth_size", [256, 288])
def test_mouths_equal_what_the_clip_loss_feeds_the_syncnet(json_path, mouth_size):
    clips = ClipDataset(json_path, mouth_size, augment_num=1, sync_features="dp1")
    pairs = SyncPairs(json_path, mouth_size=mouth_size)
    item = clips[0]
    clip = clips.videos[0].clips[clips.draws(0).source_clip]
    frames = frames_first(torch.from_numpy(item["source"])[None])
    recorder = _Recorder()
    ClipLosses(lambda x: [x], _D(), _D(), recorder, mouth_size=mouth_size, amp=False).generator(
        frames, frames, torch.from_numpy(item["audio_full"])[None])
    mouth = pairs.mouth(clip)
    assert mouth.shape == (15, 256, 256) and mouth.dtype == np.float32
    assert torch.equal(recorder.seen[0][0], torch.from_numpy(mouth))
    anchor = pairs.anchors.index((0, clips.draws(0).source_clip))
    assert torch.equal(recorder.seen[1][0], torch.from_numpy(pairs[2 * anchor]["audio"]))


def test_held_out_split_by_time_and_by_video(json_path):
    videos = load_sync_videos(json_path)
    train, val = split_videos(videos, held_out_fraction=0.2)
    assert [len(v.clips) for v in val] == [2, 2] and [len(v.clips) for v in train] == [8, 6]
    assert all(max(t.starts) < min(h.starts) for t, h in zip(train, val, strict=True))
    train, val = split_videos(videos, val_videos=("b",))
    assert [v.name for v in train] == ["a"] and [v.name for v in val] == ["b"]
    with pytest.raises(ConfigError, match="no usable video named c"):
        split_videos(videos, val_videos=("c",))


def _pooled(batch):
    batch = torch.utils.data.default_collate(batch)
    batch["mouth"] = F.adaptive_avg_pool2d(batch["mouth"], POOL)
    return batch


def _settings(run_dir: Path, **kw) -> RunSettings:
    kw.setdefault("batch_size", 8)
    return RunSettings(run_dir=run_dir, num_workers=0, progress=False, deterministic=True,
                       checkpoint_every_minutes=0, **kw)


def test_a_few_dozen_steps_separate_in_sync_from_shifted_pairs(json_path, tmp_path):
    """70 steps of 16 (lr 1e-3, 32x32 mouths) on video a, evaluated on video b. The negatives here can be told from
    the audio window alone (shifts 5 … 8 mix two levels), so this checks labels, loss, optimiser and evaluation,
    not that the net learns audio-visual correspondence: where only the pairing tells (shift exactly 9), 200 steps
    stay at the MSE 0.25 plateau the community reports for this SyncNet."""
    train, val = split_videos(load_sync_videos(json_path), val_videos=("b",))
    held_out = SyncPairs(json_path, videos=val, seed=1, max_shift=8)
    loader = torch.utils.data.DataLoader(held_out, batch_size=16, collate_fn=_pooled)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                  # a shared 2-core machine: one thread is faster than two fighting
    try:
        torch.manual_seed(0)
        task = SyncNetTask(SyncNet(), lr=1e-3, eval_loader=None)
        fit(task, SyncPairs(json_path, videos=train, repeats=STEPS * 16 // 20, max_shift=8),
            _settings(tmp_path / "run", epochs=1, batch_size=16), collate_fn=_pooled)
        task.eval_loader = loader
        task.net.eval()
        result = task.evaluate(SimpleNamespace(device="cpu", autocast=contextlib.nullcontext))
    finally:
        torch.set_num_threads(threads)
    assert result["accuracy"] > 0.8, result
    assert result["score_in_sync"] > result["score_off_sync"] + 0.3, result


def test_resume_through_the_core_equals_an_uninterrupted_run(json_path, tmp_path):
    pairs = SyncPairs(json_path)

    def run(folder: str, steps: int, resume=None) -> SyncNetTask:
        torch.manual_seed(0)
        task = SyncNetTask(SyncNet(), lr=1e-3)
        fit(task, pairs, _settings(tmp_path / folder, epochs=2, max_steps=steps), collate_fn=_pooled, resume=resume)
        return task

    whole = run("whole", 6)
    run("parts", 3)
    resumed = run("parts", 6, resume=tmp_path / "parts")
    for (k, a), b in zip(whole.net.state_dict().items(), resumed.net.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_cli_run_writes_a_checkpoint_load_syncnet_reads(json_path, tmp_path):
    from lawdnet.cli.train_syncnet import main

    rc = main(["--data", str(json_path), "--log_dir", str(tmp_path), "--name", "sn", "--batch_size", "2",
               "--max_steps", "1", "--workers", "0", "--device", "cpu", "--held_out_fraction", "0",
               "--no_progress", "--checkpoint_every_minutes", "0"])
    assert rc == 0
    path = tmp_path / "sn" / "syncnet_last.pth"
    net = load_syncnet(path)
    payload = torch.load(path, weights_only=True)
    assert set(payload) >= {"state_dict", "optimizer", "epoch", "kit_resume"} and set(payload["state_dict"]) == {"net"}
    audio = torch.zeros(1, 29, 9)
    assert net(torch.zeros(1, 15, 256, 256), audio).shape == (1, 1, 8, 8)
    assert float(sync_loss(torch.ones(2, 1, 8, 8), torch.tensor([1.0, 0.0]))) == pytest.approx(0.5)


def test_cli_errors_are_one_line(json_path, tmp_path, capsys):
    from lawdnet.cli.train_syncnet import main

    assert main(["--data", str(json_path), "--log_dir", str(tmp_path), "--val_videos", "nope"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0]
