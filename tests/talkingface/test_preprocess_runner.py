"""The shared preprocessing runner: shards, resume, one broken video failing alone, workers, nothing half done."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from talkingface.errors import KitError, MediaError
from talkingface.preprocess import FAILED, SKIPPED, Job, WorkResult, find_videos, run_jobs


class Copy:
    """Writes ``<id>.txt`` (the input's bytes, reversed) and a folder ``<id>/`` with two files; a video whose content
    is ``bad`` raises a MediaError, ``boom`` a plain exception, ``half`` raises after writing its files."""

    def __call__(self, job: Job, scratch: Path) -> WorkResult:
        data = job.path.read_bytes()
        (scratch / "out.txt").write_bytes(data[::-1])
        folder = scratch / "frames"
        folder.mkdir()
        (folder / "a.txt").write_text("a")
        (folder / "b.txt").write_text("b")
        if data == b"bad":
            raise MediaError(f"{job.path}: no face in any frame")
        if data == b"boom":
            raise ZeroDivisionError("division by zero")
        if data == b"half":
            raise KitError(f"{job.path}: stopped half way")
        return WorkResult({f"{job.id}.txt": scratch / "out.txt", f"frames/{job.id}": folder}, {"bytes": len(data)})


def videos(root: Path, contents: dict[str, bytes]) -> Path:
    for rel, data in contents.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


@pytest.fixture
def raw(tmp_path):
    return videos(tmp_path / "raw", {f"id{i % 3}/clip{i}.mp4": f"video {i}".encode() for i in range(12)}
                  | {"id9/bad.mp4": b"bad", "id9/boom.mov": b"boom", "notes.txt": b"x", ".hidden/x.mp4": b"x"})


def outputs(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".json")}


def test_finds_videos_with_stable_ids(raw):
    jobs = find_videos(raw)
    assert [j.id for j in jobs][:3] == ["id0#clip0", "id0#clip3", "id0#clip6"]
    assert len(jobs) == 14 and all(j.path.suffix in (".mp4", ".mov") for j in jobs)
    with pytest.raises(KitError, match="not found"):
        find_videos(raw / "missing")


def test_a_broken_video_fails_alone_and_nothing_half_done_is_left(raw, tmp_path):
    out = tmp_path / "out"
    report = run_jobs(find_videos(raw), Copy(), out, progress=False)
    assert report["counts"] == {"videos": 14, "done": 12, "done earlier": 0, "failed": 2, "skipped": 0}
    assert report["videos"]["id9#bad"]["reason"].endswith("no face in any frame")
    assert report["videos"]["id9#boom"]["reason"] == "ZeroDivisionError: division by zero"
    assert not (out / "id9#bad.txt").exists() and not (out / "frames" / "id9#bad").exists()
    assert not (out / ".partial").exists()
    assert (out / "id0#clip3.txt").read_bytes() == b"3 oediv"
    assert sorted(os.listdir(out / "frames" / "id0#clip3")) == ["a.txt", "b.txt"]
    saved = json.loads((out / "preprocess_report.json").read_text())
    assert saved["counts"] == report["counts"]


def test_resume_skips_done_videos_and_redoes_unfinished_ones(raw, tmp_path):
    out = tmp_path / "out"
    jobs = find_videos(raw)
    run_jobs(jobs[:5], Copy(), out, progress=False)
    (out / ".done" / f"{jobs[1].id}.json").unlink()                 # killed after moving, before the marker
    (out / ".partial" / "leftover").mkdir(parents=True)              # a scratch folder of a killed run
    (raw / "id9" / "bad.mp4").write_bytes(b"now fine")
    report = run_jobs(jobs, Copy(), out, progress=False)
    status = {k: v["status"] for k, v in report["videos"].items()}
    assert [status[j.id] for j in jobs[:5]] == [SKIPPED, "done", SKIPPED, SKIPPED, SKIPPED]
    assert status["id9#bad"] == "done" and status["id9#boom"] == FAILED
    assert report["videos"][jobs[0].id]["bytes"] == len(jobs[0].path.read_bytes())   # stats kept from the marker


def test_shards_partition_the_videos_and_write_their_own_reports(raw, tmp_path):
    ids = {j.id for j in find_videos(raw)}
    parts = [{j.id for j in find_videos(raw, shard=f"{i}/3")} for i in range(3)]
    assert set().union(*parts) == ids and sum(map(len, parts)) == len(ids) and all(parts)
    out = tmp_path / "out"
    for i in range(3):
        run_jobs(find_videos(raw, shard=f"{i}/3"), Copy(), out, progress=False, shard=f"{i}/3")
    assert sorted(p.name for p in out.glob("preprocess_report*.json")) == [
        f"preprocess_report.shard-{i}-of-3.json" for i in range(3)]
    assert len(list((out / ".done").glob("*.json"))) == 12
    for bad in ("3/3", "x", "1/0", "-1/2"):
        with pytest.raises(KitError, match="--shard"):
            find_videos(raw, shard=bad)


def test_two_workers_make_the_same_files_as_one(raw, tmp_path):
    one = run_jobs(find_videos(raw), Copy(), tmp_path / "one", progress=False)
    two = run_jobs(find_videos(raw), Copy(), tmp_path / "two", workers=2, progress=False)
    assert outputs(tmp_path / "one") == outputs(tmp_path / "two")
    assert {k: v["status"] for k, v in one["videos"].items()} == {k: v["status"] for k, v in two["videos"].items()}


class Budget:
    """Records the thread budget a work runs under: torch's, and the media layer's (decoder and x264 threads)."""

    def __call__(self, job: Job, scratch: Path) -> WorkResult:
        import torch

        from talkingface.media.ffmpeg import h264_args, thread_budget

        return WorkResult({}, {"torch": torch.get_num_threads(), "media": thread_budget(),
                               "x264": h264_args(Path("x.mp4"))})


@pytest.mark.parametrize("workers", [1, 2])
def test_every_worker_runs_on_its_thread_budget(raw, tmp_path, workers):
    """One process per core: torch, OpenCV, the decoder and the x264 encoder of a worker use --threads threads
    (N workers x all-core encoders would oversubscribe the machine); the caller's settings come back afterwards."""
    import torch

    from talkingface.media.ffmpeg import THREADS_ENV

    before = torch.get_num_threads(), os.environ.get(THREADS_ENV)
    jobs = find_videos(raw)[:3]
    report = run_jobs(jobs, Budget(), tmp_path / "out", workers=workers, threads=1, progress=False)
    for rec in report["videos"].values():
        assert (rec["torch"], rec["media"], rec["x264"]) == (1, 1, ["-threads", "1"])
    assert (torch.get_num_threads(), os.environ.get(THREADS_ENV)) == before


class TorchLoaded:
    """Records whether the worker has torch loaded when the work starts."""

    def __call__(self, job: Job, scratch: Path) -> WorkResult:
        import sys

        return WorkResult({}, {"torch_loaded": "torch" in sys.modules})


def test_a_worker_does_not_load_torch_to_set_its_threads(raw, tmp_path):
    """Setting the thread budget once imported torch in every worker: 2 s of each worker's start on 2 cores, for
    works such as DaGAN's crops that never use it (it cost the 2-worker run 5 % of its time). The budget still holds
    for a torch imported later (test above)."""
    report = run_jobs(find_videos(raw)[:2], TorchLoaded(), tmp_path / "out", workers=2, progress=False)
    assert [rec["torch_loaded"] for rec in report["videos"].values()] == [False, False]
