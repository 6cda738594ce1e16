"""Errors a user can act on, and the one place that turns them into a CLI exit.

Library code raises :class:`KitError` (or a subclass) with a message that names the file and what is wrong.
CLIs wrap their ``main`` with :func:`cli_main`, which prints that message on one line and exits non-zero,
never with a traceback. Programming errors (anything else) still raise normally. The ``__main__`` of a command that
can run under torchrun ends with :func:`exit_process`.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import os
import sys
from typing import Callable, NoReturn, Sequence

from talkingface.log import setup_logging


class KitError(Exception):
    """An error caused by the user's input or environment; its message says what to do."""

    exit_code = 2


class MediaError(KitError):
    """A media file is missing, empty, unreadable, or lacks a stream that is needed."""


class WeightsError(KitError):
    """A weight file is missing, truncated, tampered with, or has the wrong format."""


class ConfigError(KitError):
    """A configuration file or override is invalid."""


class OutputError(KitError):
    """An output would overwrite an input, or cannot be written where it was asked for (read-only, full, …)."""


#: OSErrors a user can act on: reported as one line naming the file, never as a traceback
USER_ERRNOS = {errno.EROFS: "read-only file system; mount the volume read-write",
               errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
               errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded"}


def describe_os_error(exc: OSError) -> str:
    """A short reason for an OSError, naming the common cases users can act on."""
    return USER_ERRNOS.get(exc.errno, exc.strerror or str(exc))


def exit_process(code: int | None) -> NoReturn:
    """End the process with ``code`` (the ``__main__`` of a command that can run under torchrun).

    A torchrun worker (``TORCHELASTIC_RUN_ID`` set) runs the interpreter's exit functions, flushes its streams and
    then ends with ``os._exit``, skipping the teardown of C++ objects: there, torch.distributed's gloo threads aborted
    a worker whose work was done, outputs written and group destroyed ("terminate called without an active
    exception", SIGABRT) about once in 60 runs of the two-process tests, and torchrun then failed the whole run.
    Any other process exits as usual."""
    code = 0 if code is None else int(code)
    if not os.environ.get("TORCHELASTIC_RUN_ID"):
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()                  # logging's flush, weakref finalizers, temporary folders, ...
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def cli_main(func: Callable[[Sequence[str] | None], int | None]) -> Callable[[Sequence[str] | None], int]:
    """Decorate a ``main(argv)``: the kit's one logging set-up (:func:`talkingface.log.setup_logging`) is made
    first, and a KitError becomes ``error: <message>`` on stderr and its exit code.

    Set ``TALKINGFACE_DEBUG=1`` to see the traceback instead.
    """

    @functools.wraps(func)
    def wrapper(argv: Sequence[str] | None = None) -> int:
        setup_logging()
        try:
            code = func(argv)
        except KitError as exc:
            if os.environ.get("TALKINGFACE_DEBUG"):
                raise
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
        except OSError as exc:                    # a full disk, a read-only volume: the user's to fix
            if exc.errno not in USER_ERRNOS or os.environ.get("TALKINGFACE_DEBUG"):
                raise
            print(f"error: {exc.filename or 'output'}: {describe_os_error(exc)}", file=sys.stderr)
            return OutputError.exit_code
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        return 0 if code is None else int(code)

    return wrapper


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its class name when it has none), for per-item error records."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
