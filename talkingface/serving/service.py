"""``Service``: one running service's state — the processor and its loading, the job store, the queue, health.

:meth:`Service.start` (at the app's start-up) recovers the jobs on disk, applies retention, starts the workers and
loads the processor on a background thread: ``GET /health`` says ``loading``, then ``ready`` (or ``busy`` while
every worker runs a job), or ``failed`` with the reason. :meth:`Service.stop` (a signal) makes it ``stopping``.
"""
from __future__ import annotations

import logging
import platform
import threading
import time
import traceback
from importlib import metadata
from typing import Any

from talkingface.errors import KitError, one_line
from talkingface.serving.jobs import JobStore
from talkingface.serving.problems import Problem
from talkingface.serving.processor import Processor
from talkingface.serving.settings import ServeSettings
from talkingface.serving.workers import JobQueue

log = logging.getLogger(__name__)

LOADING_RETRY_AFTER = 5      # seconds a client is asked to wait while the processor loads


def versions() -> dict[str, str]:
    """Versions of the kit, Python and the serving stack, for ``GET /health``."""
    out = {"python": platform.python_version()}
    for dist in ("talkingface-kit", "fastapi", "starlette", "uvicorn", "python-multipart", "av"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


class Service:
    """What the endpoints share (stored as ``app.state.service``)."""

    def __init__(self, processor: Processor, settings: ServeSettings):
        self.processor = processor
        self.settings = settings
        self.store = JobStore(settings.results_dir, processor.result_suffix)
        self.queue = JobQueue(processor, self.store, settings)
        self.status = "loading"
        self.reason: str | None = None
        self.description: dict[str, Any] | None = None
        self.started = time.monotonic()
        self.versions = versions()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Recover jobs on disk, apply retention, start the workers and the processor's loading (returns at once)."""
        try:
            self.settings.results_dir.mkdir(parents=True, exist_ok=True)
            failed = self.store.recover()
        except OSError as exc:
            raise KitError(f"{self.settings.results_dir}: cannot use the results folder ({exc.strerror})") from None
        if failed:
            log.warning("%d job(s) left unfinished by the last server were marked failed", failed)
        self.store.prune(self.settings.keep_hours, self.settings.max_results_bytes)
        self.queue.start()
        threading.Thread(target=self._load, name="serve-load", daemon=True).start()

    def _load(self) -> None:
        t0 = time.monotonic()
        try:
            self.processor.load()
            description = self.processor.describe()
        except Exception as exc:                    # noqa: BLE001 - reported by /health and the log, not raised
            with self._lock:
                if self.status == "loading":
                    self.status, self.reason = "failed", one_line(exc)
            if isinstance(exc, KitError):
                log.error("%s could not be loaded: %s", self.processor.name, one_line(exc))
            else:
                log.error("%s could not be loaded: %s\n%s", self.processor.name, one_line(exc),
                          traceback.format_exc().rstrip())
            return
        with self._lock:
            self.description = description
            if self.status == "loading":
                self.status = "ready"
        log.info("%s loaded in %.1f s; ready", self.processor.name, time.monotonic() - t0)

    def stop(self, why: str) -> None:
        """Stop taking requests and jobs (``why``: e.g. ``SIGTERM``); see :meth:`JobQueue.stop`."""
        with self._lock:
            if self.status == "stopping":
                return
            self.status = "stopping"
        log.info("%s: stopping (queued jobs fail, running ones are stopped)", why)
        self.queue.stop(why)

    def close(self) -> None:
        """At the app's shutdown: stop if not stopped yet, then wait a little for the workers."""
        self.stop("shutdown")
        self.queue.join(self.settings.shutdown_grace)

    def require_ready(self) -> None:
        """Problem 503 (with Retry-After) unless jobs can be taken now."""
        status = self.status
        if status == "loading":
            raise Problem(503, f"{self.processor.name} is still loading; try again shortly", close=True,
                          headers={"Retry-After": str(LOADING_RETRY_AFTER)})
        if status == "failed":
            raise Problem(503, f"{self.processor.name} failed to load: {self.reason}", close=True)
        if status == "stopping":
            raise Problem(503, "the server is stopping", close=True, headers={"Retry-After": "10"})

    def require_room(self) -> None:
        """Problem 429 (with Retry-After) when the queue is full."""
        if not self.queue.has_room():
            self.require_ready()                    # stopping in between: 503, not 429
            raise Problem(429, f"the queue is full ({self.settings.queue_size} waiting); try again later",
                          close=True, headers={"Retry-After": str(self.queue.retry_after())})

    def health(self) -> tuple[int, dict[str, Any]]:
        """HTTP status (200 ready/busy, 503 otherwise) and the JSON of ``GET /health``."""
        queue = self.queue.counts()
        status = self.status
        if status == "ready" and queue["running"] >= queue["workers"]:
            status = "busy"
        body: dict[str, Any] = {"status": status, "queue": queue, "jobs_kept": sum(self.store.counts().values()),
                                "versions": self.versions, "processor": self.description,
                                "uptime_s": round(time.monotonic() - self.started, 1)}
        if status == "failed":
            body["reason"] = self.reason
        return (200 if status in ("ready", "busy") else 503), body
