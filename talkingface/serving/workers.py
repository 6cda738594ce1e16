"""``JobQueue``: a bounded queue of jobs and the worker threads that run them through ``processor.process``.

At most ``queue_size`` jobs wait (not counting the ``workers`` running ones); :meth:`JobQueue.submit` refuses more.
A request that waits for its job gets an asyncio future (:meth:`JobQueue.waiter`), resolved from the worker thread
with ``loop.call_soon_threadsafe`` — the event loop never blocks. The ``progress`` callback a processor gets records
the fraction (written to ``job.json`` at most twice a second) and raises :class:`JobCancelled` once the job was
cancelled (``DELETE``), ran past ``job_timeout``, or the server is stopping (:meth:`JobQueue.stop`).
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from talkingface.errors import KitError, one_line
from talkingface.fsutil import remove_quietly
from talkingface.serving.jobs import FINISHED, Job, JobStore
from talkingface.serving.processor import JobCancelled, Processor
from talkingface.serving.settings import ServeSettings

log = logging.getLogger(__name__)

PERSIST_EVERY = 0.5         # seconds between progress writes to job.json
INTERNAL_ERROR = "internal error (see the server log)"


class _Running:
    """A job on a worker: when it started, and why it must stop (set from other threads)."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        self.started = time.monotonic()
        self.last_persist = 0.0
        self.stop_kind: str | None = None       # cancelled | timeout | stopped
        self.stop_reason = ""

    def stop(self, kind: str, reason: str) -> None:
        if self.stop_kind is None:
            self.stop_kind, self.stop_reason = kind, reason


def _jsonable(summary: Any) -> dict[str, Any] | None:
    if summary is None:
        return None
    value = json.loads(json.dumps(summary, default=str))
    return value if isinstance(value, dict) else {"value": value}


def _resolve(future: asyncio.Future, value: Job | None) -> None:
    if not future.done():
        future.set_result(value)


class JobQueue:
    """Bounded queue + ``settings.workers`` threads sharing one loaded processor. Thread-safe."""

    def __init__(self, processor: Processor, store: JobStore, settings: ServeSettings):
        self.processor = processor
        self.store = store
        self.settings = settings
        self._cond = threading.Condition()
        self._pending: deque[str] = deque()
        self._running: dict[str, _Running] = {}
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Future]]] = {}
        self._threads: list[threading.Thread] = []
        self._stopping: str | None = None
        self._avg_seconds: float | None = None

    def start(self) -> None:
        """Start the worker threads."""
        for i in range(self.settings.workers):
            thread = threading.Thread(target=self._work, name=f"serve-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def counts(self) -> dict[str, int]:
        """``queued`` (waiting), ``running`` (on a worker, or handed to an idle one), ``bound``, ``workers``."""
        with self._cond:
            claimed = min(self.settings.workers - len(self._running), len(self._pending))
            return {"queued": len(self._pending) - claimed, "running": len(self._running) + claimed,
                    "bound": self.settings.queue_size, "workers": self.settings.workers}

    def has_room(self) -> bool:
        """True when a new job would be accepted now."""
        with self._cond:
            return self._stopping is None and self._outstanding() < self.settings.queue_size + self.settings.workers

    def _outstanding(self) -> int:
        return len(self._pending) + len(self._running)

    def retry_after(self) -> int:
        """Seconds after which a refused client may try again: an estimate from the mean job time."""
        with self._cond:
            mean = self._avg_seconds if self._avg_seconds is not None else 10.0
            waves = max(1, self._outstanding() - self.settings.queue_size) / self.settings.workers
        return int(min(3600, max(1, math.ceil(mean * waves))))

    def submit(self, job_id: str) -> str | None:
        """Queue a job; None when accepted, else why not: ``"full"`` or ``"stopping"``."""
        with self._cond:
            if self._stopping is not None:
                return "stopping"
            if self._outstanding() >= self.settings.queue_size + self.settings.workers:
                return "full"
            self._pending.append(job_id)
            self._cond.notify()
        return None

    def waiter(self, job_id: str) -> asyncio.Future:
        """A future (of the running loop) resolved with the job's final record, or with None when the server
        stops first."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._cond:
            job = self.store.get(job_id)
            if self._stopping is not None:
                future.set_result(None)
            elif job is None or job.state in FINISHED:
                future.set_result(job)
            else:
                self._waiters.setdefault(job_id, []).append((loop, future))
        return future

    def forget(self, job_id: str, future: asyncio.Future) -> None:
        """Drop a waiter that gave up (timeout, client gone)."""
        with self._cond:
            waiters = [w for w in self._waiters.get(job_id, []) if w[1] is not future]
            if waiters:
                self._waiters[job_id] = waiters
            else:
                self._waiters.pop(job_id, None)

    def _wake(self, job_id: str, value: Job | None) -> None:
        with self._cond:
            waiters = self._waiters.pop(job_id, [])
        for loop, future in waiters:
            try:
                loop.call_soon_threadsafe(_resolve, future, value)
            except RuntimeError:                    # the loop is closed: nobody waits any more
                pass

    def cancel(self, job_id: str) -> str:
        """Cancel a job: ``"deleted"`` (it was queued or finished: its files are gone), ``"stopping"`` (it runs:
        deleted when it stops), or ``"unknown"``."""
        with self._cond:
            if job_id in self._running:
                self._running[job_id].stop("cancelled", "the job was cancelled")
                return "stopping"
            queued = job_id in self._pending
            if queued:
                self._pending.remove(job_id)
        if self.store.get(job_id) is None:
            return "unknown"
        if queued:
            self._wake(job_id, self.store.update(job_id, persist=False, state="cancelled", error="cancelled"))
            log.info("job %s cancelled while queued", job_id)
        self.store.delete(job_id)
        return "deleted"

    def stop(self, why: str) -> None:
        """Stop taking jobs: queued ones fail, running ones are asked to stop (their next ``progress()`` raises
        JobCancelled), and every waiting request is answered (None: the server is stopping)."""
        with self._cond:
            if self._stopping is not None:
                return
            self._stopping = why
            pending, self._pending = list(self._pending), deque()
            for run in self._running.values():
                run.stop("stopped", f"the server stopped ({why}) while the job ran")
            waiters, self._waiters = self._waiters, {}
            self._cond.notify_all()
        for job_id in pending:
            self._fail(job_id, "stopped", "the server stopped before the job started")
        for entries in waiters.values():
            for loop, future in entries:
                try:
                    loop.call_soon_threadsafe(_resolve, future, None)
                except RuntimeError:
                    pass

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the workers to end; jobs still running then are marked failed."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            stuck = list(self._running.values())
        for run in stuck:
            log.warning("job %s did not stop within %.0f s (its processor calls no progress()); marked failed",
                        run.job_id, timeout)
            self._fail(run.job_id, run.stop_kind or "stopped", run.stop_reason or "the server stopped")

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and self._stopping is None:
                    self._cond.wait()
                if self._stopping is not None:
                    return
                run = _Running(self._pending.popleft())
                self._running[run.job_id] = run
            try:
                self._run(run)
            except Exception:                       # noqa: BLE001 - a worker never dies of one job
                log.error("job %s: the worker failed\n%s", run.job_id, traceback.format_exc().rstrip())
                self._fail(run.job_id, "internal", INTERNAL_ERROR)
            finally:
                with self._cond:
                    self._running.pop(run.job_id, None)
                    stopping = self._stopping is not None
                self._wake(run.job_id, self.store.get(run.job_id))
            if not stopping:
                self.store.prune(self.settings.keep_hours, self.settings.max_results_bytes)

    def _progress(self, run: _Running) -> Callable[[float], None]:
        limit = self.settings.job_timeout

        def progress(fraction: float) -> None:
            if run.stop_kind is None and time.monotonic() - run.started > limit:
                run.stop("timeout", f"the job ran longer than --job_timeout ({limit:g} s)")
            if run.stop_kind is not None:
                raise JobCancelled(run.stop_reason)
            now = time.monotonic()
            persist = now - run.last_persist >= PERSIST_EVERY
            if persist:
                run.last_persist = now
            value = float(fraction)
            if math.isfinite(value):
                self.store.update(run.job_id, persist=persist, progress=min(max(value, 0.0), 1.0))

        return progress

    def _run(self, run: _Running) -> None:
        job = self.store.update(run.job_id, state="running", started=round(time.time(), 3), progress=0.0)
        if job is None:
            return
        partial = self.store.partial_result_path(run.job_id)
        try:
            summary = self.processor.process(self.store.input_path(job), partial, self._progress(run))
            if run.stop_kind == "cancelled":
                raise JobCancelled(run.stop_reason)
            if not partial.is_file() or partial.stat().st_size == 0:
                raise RuntimeError(f"{type(self.processor).__name__}.process wrote no result")
            size = self.store.install_result(run.job_id, partial)
            self.store.update(run.job_id, state="done", progress=1.0, finished=round(time.time(), 3),
                              result_bytes=size, summary=_jsonable(summary))
            seconds = time.monotonic() - run.started
            with self._cond:
                self._avg_seconds = seconds if self._avg_seconds is None else 0.7 * self._avg_seconds + 0.3 * seconds
            log.info("job %s done in %.1f s", run.job_id, seconds)
        except JobCancelled as exc:
            if run.stop_kind == "cancelled":
                self.store.delete(run.job_id)
                log.info("job %s cancelled after %.1f s; deleted", run.job_id, time.monotonic() - run.started)
            else:
                self._fail(run.job_id, run.stop_kind or "internal", run.stop_reason or exc.reason)
        except KitError as exc:
            self._fail(run.job_id, "user", one_line(exc))
        except Exception:                           # noqa: BLE001 - the client gets a generic line, the log the rest
            self._fail(run.job_id, "internal", INTERNAL_ERROR, traceback.format_exc().rstrip())
        finally:
            remove_quietly(partial)

    def _fail(self, job_id: str, kind: str, reason: str, trace: str | None = None) -> None:
        job = self.store.update(job_id, state="failed", error=reason, error_kind=kind, finished=round(time.time(), 3))
        if job is not None:
            if trace:
                log.error("job %s failed: %s\n%s", job_id, reason, trace)
            else:
                log.info("job %s failed: %s", job_id, reason)
