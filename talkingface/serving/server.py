"""``serve(processor, settings)``: run the app with uvicorn until SIGTERM/SIGINT, then stop cleanly and return 0.

On a signal the service turns ``stopping`` at once (:meth:`Service.stop`: queued jobs fail, running ones are asked to
stop, waiting requests get 503), uvicorn stops accepting and gives open requests ``shutdown_grace`` seconds, then the
app's shutdown waits up to ``shutdown_grace`` for the workers. uvicorn re-raises a signal it handled once it is done;
our own handlers catch that, so the command exits 0 rather than being killed by its own SIGTERM.
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn

from talkingface.errors import KitError, describe_os_error
from talkingface.fsutil import remove_quietly, temp_sibling
from talkingface.serving.app import create_app
from talkingface.serving.processor import Processor
from talkingface.serving.service import Service
from talkingface.serving.settings import ServeSettings, check_settings, warn_if_exposed

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _Server(uvicorn.Server):
    """uvicorn's server, telling the service to stop as soon as a signal arrives (before open requests finish)."""

    def __init__(self, config: uvicorn.Config, service: Service, early: list[int]):
        super().__init__(config)
        self.service = service
        self.early = early                  # signals that came before uvicorn installed its handlers

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.service.stop(signal.Signals(sig).name)
        super().handle_exit(sig, frame)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.early and not self.should_exit:
            self.handle_exit(self.early[0], None)
        elif self.started:
            s = self.service.settings
            log.info("serving %s on http://%s:%d (workers %d, queue %d, results in %s)", self.service.processor.name,
                     s.host, s.port, s.workers, s.queue_size, s.results_dir)


@contextmanager
def _absorb_signals() -> Iterator[list[int]]:
    """Around uvicorn's run (it installs its own handlers while it serves), the handlers it restores and re-raises
    to are ours: they only note the signal in the yielded list (one before uvicorn's start stops it at once). Outside
    the main thread signals cannot be handled: nothing is changed."""
    early: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield early
        return

    def note(signum: int, frame: FrameType | None) -> None:
        early.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in SIGNALS}
    try:
        yield early
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _check_results_dir(settings: ServeSettings) -> None:
    """KitError unless ``results_dir`` can be created and written to (before uvicorn starts, for a clean line)."""
    folder = settings.results_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_quietly(temp_sibling(folder / "write-check"))
    except OSError as exc:
        raise KitError(f"{folder}: the results folder cannot be written ({describe_os_error(exc)})") from None


def serve(processor: Processor, settings: ServeSettings) -> int:
    """Serve ``processor`` on ``settings.host:port`` until SIGTERM/SIGINT; 0 after a clean stop. A port that
    cannot be bound is a KitError."""
    settings = check_settings(settings)
    warn_if_exposed(settings)
    _check_results_dir(settings)
    with _absorb_signals() as early:
        app = create_app(processor, settings)
        logging.getLogger("uvicorn").setLevel(logging.WARNING)     # its errors stay visible, its info lines do not
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                                lifespan="on", http="h11", loop="asyncio", ws="none", server_header=False,
                                proxy_headers=False, timeout_graceful_shutdown=int(max(1, settings.shutdown_grace)))
        server = _Server(config, app.state.service, early)
        try:
            server.run()
        except SystemExit as exc:                   # uvicorn exits 1 when it cannot bind or start
            if exc.code in (0, None):
                return 0
            raise KitError(f"cannot serve on {settings.host}:{settings.port} (see the error above; "
                           f"is the port in use?)") from None
    log.info("stopped")
    return 0
