"""What a service runs: the model side of :mod:`talkingface.serving`, implemented by a model package's adapter.

The core (uploads, limits, the bounded queue, jobs on disk, health) knows nothing of models; an adapter such as
:class:`lawdnet.service.LipSyncProcessor` implements this protocol. The core calls, in order:

* ``load()`` once, on a background thread at start (``GET /health`` says ``loading`` until it returns, ``failed``
  with the reason if it raises);
* ``describe()`` for ``GET /health`` once loaded (model, weights, device, … — JSON-able, no secrets);
* ``validate(audio)`` on the request's task before a job is queued: a :class:`~talkingface.errors.KitError` is the
  client's fault (422 with its message, nothing queued);
* ``process(audio, output, progress)`` on a worker thread, one call per job, possibly on several workers at once
  (``--workers``): it writes the result to ``output`` — complete or not at all — and returns a JSON-able summary.
  ``progress(fraction)`` reports 0..1 and raises :class:`JobCancelled` when the job was cancelled, timed out or
  the server is stopping: the processor lets it propagate (after cleaning up). A KitError fails the job with its
  message (shown to the client); any other exception fails it as an internal error (logged with its traceback).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


class JobCancelled(Exception):
    """Raised by the ``progress`` callback: stop this job now (cancelled, timed out, or the server is stopping)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@runtime_checkable
class Processor(Protocol):
    name: str            #: short name for logs and /health, e.g. "lawdnet"
    media_type: str      #: of the results, e.g. "video/mp4"
    result_suffix: str   #: of the result files, e.g. ".mp4"

    def load(self) -> None: ...

    def describe(self) -> dict[str, Any]: ...

    def validate(self, audio: Path) -> None: ...

    def process(self, audio: Path, output: Path, progress: Callable[[float], None]) -> dict[str, Any]: ...
