"""``StopFlag``: SIGTERM / SIGINT set a flag that the training loop checks after each step (checkpoint, then stop).

A second SIGINT while the flag is set interrupts at once (KeyboardInterrupt), for a user who does not want to wait.
Signal handlers can only be installed in the main thread; elsewhere the flag works by :meth:`StopFlag.set` only.
"""
from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopFlag:
    """Context manager installing the handlers and restoring the previous ones on exit."""

    def __init__(self, signals: tuple[int, ...] = SIGNALS):
        self.signals = signals
        self.signal_number: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def is_set(self) -> bool:
        """True once a stop was asked for."""
        return self.signal_number is not None

    def set(self, signum: int = signal.SIGTERM) -> None:
        """Ask the loop to stop after the current step, as ``signum`` would."""
        if self.signal_number is None:
            self.signal_number = int(signum)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.is_set and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if not self.is_set:
            log.warning("%s received: stopping after this step and writing the last checkpoint",
                        signal.Signals(signum).name)
        self.set(signum)

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is not threading.main_thread():
            log.debug("not the main thread: SIGTERM/SIGINT handlers not installed")
            return self
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()
