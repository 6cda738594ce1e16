"""Run one preprocessing function over a folder of videos: shards, worker processes, resume, one report.

    jobs = find_videos("raw/", shard="0/2")
    report = run_jobs(jobs, Work(...), "out/", workers=2, report_name="preprocess_report.json")

A *work* is a picklable callable ``work(job, scratch) -> WorkResult``: it reads ``job.path``, writes every output
into the empty folder ``scratch`` and returns which scratch file goes where (paths relative to the output root) and
its statistics. The runner then moves the files into place (renames on one file system) and writes the video's
marker ``<root>/.done/<job id>.json`` last: a video counts as done only with its marker, so a killed run resumes
where it stopped (its half-written scratch folder is deleted, its moved files are overwritten) and a finished video
is never redone. A video whose work raises is recorded with a one-line reason and the others go on. Every record
holds the video's ``duration`` (seconds, probed); with ``max_minutes`` a longer video is not processed but recorded
as ``skipped`` with the reason (no marker: a later run with a higher limit, or none, processes it). Works stream
their frames, so a long video costs time, not memory; a killed run redoes the video it was in. Shards split
the list by a hash of each video's relative path, so machines or containers given ``--shard i/n`` share one
dataset without talking to each other (each writes its own report).
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from talkingface.errors import KitError, one_line
from talkingface.fsutil import write_text_atomic

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp")
DONE, FAILED, SKIPPED = "done", "failed", "done earlier"
#: a video over ``max_minutes``: recorded with its duration and the reason, not processed, no marker
TOO_LONG = "skipped"


@dataclass(frozen=True)
class Job:
    """One input video: ``path``, and ``id`` — its path relative to the input root without suffix, ``/`` as ``#``
    (unique within the root, stable across machines)."""

    path: Path
    id: str


@dataclass
class WorkResult:
    """What a work made: ``files`` {path relative to the output root: file or folder in scratch}, ``stats``."""

    files: dict[str, Path] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


def parse_shard(spec: str | None) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n; None -> (0, 1)."""
    if spec is None:
        return 0, 1
    try:
        i, n = (int(v) for v in str(spec).split("/"))
    except ValueError:
        raise KitError(f"--shard must be i/n (e.g. 0/4), got {spec!r}") from None
    if not 0 <= i < n:
        raise KitError(f"--shard {spec}: need 0 <= i < n")
    return i, n


def in_shard(job_id: str, shard: tuple[int, int]) -> bool:
    i, n = shard
    return int(hashlib.sha1(job_id.encode()).hexdigest()[:8], 16) % n == i


def find_videos(root: str | os.PathLike, shard: str | None = None,
                suffixes: Iterable[str] = VIDEO_SUFFIXES) -> list[Job]:
    """Every video under ``root`` (recursively, by suffix, sorted), those of ``shard`` only."""
    root = Path(root)
    if not root.is_dir():
        raise KitError(f"{root}: input folder not found")
    wanted = {s.lower() for s in suffixes}
    spec = parse_shard(shard)
    jobs = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in wanted
                       and not any(part.startswith(".") for part in p.relative_to(root).parts)):
        job = Job(path, path.relative_to(root).with_suffix("").as_posix().replace("/", "#"))
        if in_shard(job.id, spec):
            jobs.append(job)
    return jobs


def _marker(root: Path, job: Job) -> Path:
    return root / ".done" / f"{job.id}.json"


def clock(seconds: float) -> str:
    """``7200.0`` -> ``"2:00:00"``: a duration as h:mm:ss."""
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _duration(path: Path) -> float | None:
    """The video's duration in seconds (metadata, nothing decoded), or None when it cannot be probed (the work
    then fails with the reason)."""
    from talkingface.media import probe

    try:
        return round(float(probe(path).duration), 3)
    except Exception:  # noqa: BLE001 - a broken file: its work reports why
        return None


def _run_one(work: Callable[[Job, Path], WorkResult], job: Job, root: Path,
             max_minutes: float | None = None) -> dict[str, Any]:
    """In a worker: the work in a fresh scratch folder, its files moved into place, then the marker (or, over
    ``max_minutes``, a skipped record without running the work)."""
    duration = _duration(job.path)
    if max_minutes is not None and duration is not None and duration > 60 * max_minutes:
        return {"status": TOO_LONG, "duration": duration, "seconds": 0.0,
                "reason": f"{clock(duration)} long, over --max_minutes {max_minutes:g}"}
    scratch = root / ".partial" / job.id
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    start = time.perf_counter()
    try:
        result = work(job, scratch)
        for rel, src in result.files.items():
            dst = root / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.is_dir():
                shutil.rmtree(dst)
            os.replace(src, dst)
        record = {"status": DONE, "seconds": round(time.perf_counter() - start, 3), "duration": duration,
                  "outputs": sorted(result.files), **result.stats}
        write_text_atomic(_marker(root, job), json.dumps(record, indent=1, sort_keys=True, default=str))
        return record
    except Exception as exc:  # noqa: BLE001 - one broken video fails alone, with its reason
        reason = one_line(exc) if isinstance(exc, (KitError, OSError)) else f"{type(exc).__name__}: {one_line(exc)}"
        return {"status": FAILED, "reason": reason, "seconds": round(time.perf_counter() - start, 3),
                "duration": duration}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


#: read by OpenMP and MKL when torch is first imported: how a worker that has not loaded torch sets its threads
_TORCH_THREAD_ENVS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _set_threads(threads: int) -> dict[str, Any]:
    """torch's, OpenCV's and the kit's media thread budget (decoder threads, x264 threads) set to ``threads``;
    returns what :func:`_set_threads_back` restores. torch is not imported for it (2 s of every worker's start on
    a 2-core machine, for works that never use it, such as DaGAN's crops): OMP_NUM_THREADS and MKL_NUM_THREADS give
    the threads to a torch imported later, ``torch.set_num_threads`` to one already loaded."""
    from talkingface.media.ffmpeg import THREADS_ENV

    old: dict[str, Any] = {"env": {k: os.environ.get(k) for k in (THREADS_ENV, *_TORCH_THREAD_ENVS)},
                           "torch": None, "cv2": None}
    os.environ.update(dict.fromkeys(old["env"], str(threads)))
    torch = sys.modules.get("torch")
    if torch is not None:
        old["torch"] = torch.get_num_threads()
        torch.set_num_threads(threads)
    try:
        import cv2

        old["cv2"] = cv2.getNumThreads()
        cv2.setNumThreads(threads)
    except ImportError:
        pass
    return old


def _set_threads_back(old: dict[str, Any]) -> None:
    """The caller's thread settings back. A torch first imported during the run keeps the run's threads (the
    library cannot know the count torch would have picked); a caller that cares has torch loaded before."""
    for key, value in old["env"].items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    if old["torch"] is not None:
        sys.modules["torch"].set_num_threads(old["torch"])
    if old["cv2"] is not None:
        import cv2

        cv2.setNumThreads(old["cv2"])


def _init_worker(threads: int) -> None:
    _set_threads(threads)


def run_jobs(jobs: list[Job], work: Callable[[Job, Path], WorkResult], out_root: str | os.PathLike, *,
             workers: int = 1, threads: int = 1, report_name: str = "preprocess_report.json",
             settings: dict | None = None, progress: bool = True, shard: str | None = None,
             max_minutes: float | None = None) -> dict[str, Any]:
    """Run ``work`` on every job not done yet (see the module docstring); write and return the report.
    ``max_minutes``: videos longer than this are skipped, with their duration and the reason (default: no limit).

    Parallelism comes from ``workers`` processes, each running torch and OpenCV on ``threads`` threads (default 1:
    per-video work is decode, detect, crop, encode, which scale better as one process per core than as threads of
    one process; ffmpeg's encoders run in their own processes)."""
    from tqdm import tqdm

    root = Path(out_root)
    root.mkdir(parents=True, exist_ok=True)
    (root / ".done").mkdir(exist_ok=True)
    videos: dict[str, dict[str, Any]] = {}
    todo = []
    for job in jobs:
        marker = _marker(root, job)
        if marker.is_file():
            try:
                videos[job.id] = {**json.loads(marker.read_text()), "status": SKIPPED}
                continue
            except (OSError, json.JSONDecodeError):
                pass                                   # a damaged marker: redo the video
        todo.append(job)
    start = time.perf_counter()
    bar = tqdm(total=len(todo), unit="video", desc="preprocess", disable=not progress)
    try:
        if workers <= 1:
            old = _set_threads(threads)
            try:
                for job in todo:
                    videos[job.id] = _run_one(work, job, root, max_minutes)
                    bar.update(1)
            finally:
                _set_threads_back(old)
        else:
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=(threads,)) as pool:
                futures = {pool.submit(_run_one, work, job, root, max_minutes): job for job in todo}
                for future in cf.as_completed(futures):
                    job = futures[future]
                    try:
                        videos[job.id] = future.result()
                    except Exception as exc:  # noqa: BLE001 - a worker that died (killed, out of memory)
                        videos[job.id] = {"status": FAILED, "reason": f"worker failed: {one_line(exc)}"}
                    bar.update(1)
    finally:
        bar.close()
    for job_id, rec in videos.items():
        if rec["status"] == FAILED:
            log.warning("%s: failed: %s", job_id, rec["reason"])
    for job_id, rec in videos.items():
        if rec["status"] == TOO_LONG:
            log.info("%s: skipped: %s", job_id, rec["reason"])
    counts = {s: sum(r["status"] == s for r in videos.values()) for s in (DONE, SKIPPED, FAILED, TOO_LONG)}
    report = {"settings": settings or {}, "shard": shard, "workers": workers, "counts": {"videos": len(jobs), **counts},
              "seconds": round(time.perf_counter() - start, 3), "videos": dict(sorted(videos.items()))}
    name = report_name if shard is None else report_name.replace(".json", f".shard-{shard.replace('/', '-of-')}.json")
    write_text_atomic(root / name, json.dumps(report, indent=1, sort_keys=False, default=str))
    try:
        (root / ".partial").rmdir()                    # left only while a run (another shard's) is at work
    except OSError:
        pass
    return report
