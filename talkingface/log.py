"""``setup_logging``: the one logging set-up of every CLI — one line per message on stderr, warnings prefixed.

Library code logs to ``logging.getLogger(__name__)`` (loggers under ``talkingface``, ``dagan``, ``syncnet``,
``lawdnet``) and never prints; every CLI's ``main`` is wrapped by :func:`talkingface.errors.cli_main`, which calls
:func:`setup_logging` first. Messages look like ``wrote out.mp4 …``,
``warning: …`` and ``error: …`` (the same prefix :func:`talkingface.errors.cli_main` gives a failing command).
"""
from __future__ import annotations

import logging
import sys

PACKAGES = ("talkingface", "dagan", "syncnet", "lawdnet")


class _LineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"error: {text}"
        return f"warning: {text}" if record.levelno >= logging.WARNING else text


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (so captured streams in tests and notebooks work)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def setup_logging(level: int = logging.INFO) -> None:
    """Send the kit's loggers to stderr, one line each; calling it again changes nothing but the level."""
    for name in PACKAGES:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
            handler = _StderrHandler()
            handler.setFormatter(_LineFormatter())
            logger.addHandler(handler)
