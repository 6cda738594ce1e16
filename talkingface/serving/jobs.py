"""Jobs on disk: one folder per job under ``results_dir/jobs/<id>/`` (``job.json``, ``input.<ext>``, ``result<sfx>``).

``job.json`` is written atomically at every change of state; a result is moved into place before ``job.json`` says
``done``, and served only when the job is done and the file exists. Uploads arrive in ``results_dir/incoming/``
under server-made names and are moved into their job's folder once accepted; the client's file name is never used
for a path. Job ids are server-made (uuid4 hex) and checked by :data:`JOB_ID` before any file system use.

:meth:`JobStore.recover` (at start) fails the jobs a previous server left queued or running — never reporting them
done — and :meth:`JobStore.prune` deletes finished jobs by age and by total size, never queued or running ones.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from talkingface.fsutil import write_text_atomic

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"[0-9a-f]{32}")
STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
JOB_FILE = "job.json"
RESTART_REASON = "the server stopped before the job finished"


def valid_job_id(job_id: str) -> bool:
    """True for a server-made job id (32 lowercase hex digits)."""
    return isinstance(job_id, str) and JOB_ID.fullmatch(job_id) is not None


@dataclass
class Job:
    """One job's record, as stored in ``job.json``."""

    id: str
    state: str
    created: float                      # unix time
    input_name: str                     # server-made: input.<ext of the sniffed format>
    filename: str = ""                  # the client's file name, sanitised (for logs only)
    stem: str = "audio"                 # safe stem for the download's name
    progress: float = 0.0
    error: str | None = None
    error_kind: str | None = None       # user | internal | timeout | stopped
    started: float | None = None
    finished: float | None = None
    audio_seconds: float | None = None
    result_bytes: int | None = None
    summary: dict[str, Any] | None = None

    def public(self) -> dict[str, Any]:
        """What ``GET /jobs/{id}`` answers."""
        return {"id": self.id, "state": self.state, "progress": round(self.progress, 4), "error": self.error,
                "error_kind": self.error_kind, "created": self.created, "started": self.started,
                "finished": self.finished, "audio_seconds": self.audio_seconds, "result_bytes": self.result_bytes,
                "summary": self.summary}


def _read_job(path: Path) -> Job | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        job = Job(**{f.name: data[f.name] for f in dataclasses.fields(Job) if f.name in data})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return job if job.state in STATES and valid_job_id(job.id) and job.id == path.parent.name else None


def _folder_bytes(folder: Path) -> int:
    try:
        return sum(e.stat().st_size for e in os.scandir(folder) if e.is_file(follow_symlinks=False))
    except OSError:
        return 0


class JobStore:
    """The jobs of one ``results_dir``: records in memory, mirrored to ``job.json`` files. Thread-safe."""

    def __init__(self, root: Path, result_suffix: str):
        self.root = Path(root)
        self.jobs_dir = self.root / "jobs"
        self.incoming = self.root / "incoming"
        self.result_name = "result" + result_suffix
        self._jobs: dict[str, Job] = {}
        self._lock = threading.RLock()

    def folder(self, job_id: str) -> Path:
        """The job's folder (the id is checked first: a path is never made from anything else)."""
        if not valid_job_id(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return self.jobs_dir / job_id

    def new_upload_path(self) -> Path:
        """A new, empty, server-named file in ``incoming/`` for an upload to stream into."""
        path = self.incoming / f"{uuid.uuid4().hex}.upload"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return path

    def add(self, upload: Path, suffix: str, filename: str, stem: str, audio_seconds: float | None) -> Job:
        """A new queued job owning ``upload`` (moved to its folder as ``input<suffix>``)."""
        job_id = uuid.uuid4().hex
        folder = self.folder(job_id)
        folder.mkdir()
        os.replace(upload, folder / f"input{suffix}")
        job = Job(id=job_id, state="queued", created=round(time.time(), 3), input_name=f"input{suffix}",
                  filename=filename, stem=stem, audio_seconds=audio_seconds)
        with self._lock:
            self._save(job)
            self._jobs[job_id] = job
        return dataclasses.replace(job)

    def _save(self, job: Job) -> None:
        write_text_atomic(self.folder(job.id) / JOB_FILE, json.dumps(dataclasses.asdict(job), indent=1) + "\n")

    def get(self, job_id: str) -> Job | None:
        """A copy of the job's record, or None (unknown, deleted, or not a job id)."""
        with self._lock:
            job = self._jobs.get(job_id) if valid_job_id(job_id) else None
            return dataclasses.replace(job) if job is not None else None

    def update(self, job_id: str, persist: bool = True, **changes: Any) -> Job | None:
        """Change fields of a job (written to ``job.json`` unless ``persist=False``); None when it is gone."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            for key, value in changes.items():
                setattr(job, key, value)
            if persist:
                self._save(job)
            return dataclasses.replace(job)

    def input_path(self, job: Job) -> Path:
        """The job's uploaded audio."""
        return self.folder(job.id) / job.input_name

    def partial_result_path(self, job_id: str) -> Path:
        """A hidden, unique name in the job's folder for a result being written (not created)."""
        return self.folder(job_id) / f".result-{uuid.uuid4().hex[:10]}.partial{Path(self.result_name).suffix}"

    def install_result(self, job_id: str, partial: Path) -> int:
        """Move a finished result into place (before the job is marked done); its size in bytes."""
        final = self.folder(job_id) / self.result_name
        os.replace(partial, final)
        return final.stat().st_size

    def result_path(self, job: Job) -> Path | None:
        """The result file of a done job, or None (not done, or its file is gone)."""
        if job.state != "done":
            return None
        path = self.folder(job.id) / self.result_name
        return path if path.is_file() else None

    def delete(self, job_id: str) -> None:
        """Forget a job and delete its folder."""
        if not valid_job_id(job_id):
            return
        with self._lock:                            # once get() says None, the folder is gone too
            self._jobs.pop(job_id, None)
            shutil.rmtree(self.folder(job_id), ignore_errors=True)

    def counts(self) -> dict[str, int]:
        """Number of kept jobs in each state."""
        with self._lock:
            counts = dict.fromkeys(STATES, 0)
            for job in self._jobs.values():
                counts[job.state] += 1
            return counts

    def recover(self) -> int:
        """Load the jobs on disk (at start): queued/running ones become failed and lose their partial files; a done
        job without its result becomes failed; a folder without a readable record is deleted. Returns the number
        of jobs failed."""
        for folder in (self.jobs_dir, self.incoming):
            folder.mkdir(parents=True, exist_ok=True)
        for entry in self.incoming.iterdir():              # uploads cut off by the last stop
            if entry.is_file():
                entry.unlink(missing_ok=True)
        failed = 0
        for entry in sorted(self.jobs_dir.iterdir()):
            if not entry.is_dir() or not valid_job_id(entry.name):
                continue
            job = _read_job(entry / JOB_FILE)
            if job is None:
                log.warning("%s: no readable %s; deleted (a job cut off while it was created)", entry, JOB_FILE)
                shutil.rmtree(entry, ignore_errors=True)
                continue
            reason = None
            if job.state in ("queued", "running"):
                reason = RESTART_REASON
            elif job.state == "done" and not (entry / self.result_name).is_file():
                reason = "the result file is missing"
            for item in entry.iterdir():
                keep = item.name in (JOB_FILE, job.input_name) or (item.name == self.result_name and reason is None)
                if not keep and item.is_file():
                    item.unlink(missing_ok=True)
            if reason is not None:
                job.state, job.error, job.error_kind = "failed", reason, "stopped"
                job.finished = job.finished or round(time.time(), 3)
                job.result_bytes = None
                self._save(job)
                log.info("job %s failed: %s", job.id, reason)
                failed += 1
            with self._lock:
                self._jobs[job.id] = job
        return failed

    def prune(self, keep_hours: float, max_bytes: int, now: float | None = None) -> int:
        """Delete finished jobs older than ``keep_hours``, then the oldest finished ones while all jobs together
        take more than ``max_bytes``; queued and running jobs are never touched. Returns the number deleted."""
        now = time.time() if now is None else now
        with self._lock:
            jobs = [dataclasses.replace(j) for j in self._jobs.values()]
        finished = sorted((j for j in jobs if j.state in FINISHED), key=lambda j: j.finished or j.created)
        cutoff = now - keep_hours * 3600
        doomed = {j.id: "older than --keep_hours" for j in finished if (j.finished or j.created) < cutoff}
        sizes = {j.id: _folder_bytes(self.folder(j.id)) for j in jobs}
        total = sum(size for job_id, size in sizes.items() if job_id not in doomed)
        for job in finished:
            if total <= max_bytes:
                break
            if job.id not in doomed:
                doomed[job.id] = "over --max_results_mb"
                total -= sizes[job.id]
        deleted = 0
        for job_id, why in doomed.items():
            with self._lock:
                current = self._jobs.get(job_id)
                if current is None or current.state not in FINISHED:
                    continue
                self.delete(job_id)
            log.info("job %s deleted (%s)", job_id, why)
            deleted += 1
        return deleted
