"""``ServeSettings``: what a service needs besides its processor (address, workers, folder, limits, retention, key).

The flags of every service command are added in one place (:func:`add_serve_arguments`), so their names, defaults
and help read the same everywhere; :func:`settings_from_args` turns them into checked settings (one-line ConfigError
per bad value). The API key never comes from the command line (it would show in ``ps``): ``--api_key_file`` or the
``TALKINGFACE_API_KEY`` environment variable.
"""
from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import logging
import math
import os
from argparse import Namespace
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from talkingface.errors import ConfigError

log = logging.getLogger(__name__)

API_KEY_ENV = "TALKINGFACE_API_KEY"
DEFAULT_PORT = 5828     # the authors' Flask server's port


@dataclass
class ServeSettings:
    """One service's settings; the defaults are safe (loopback only, bounded queue, bounded disk use)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1                    # jobs processed at once (threads sharing the one loaded model)
    results_dir: Path = Path("serve_results")
    max_upload_mb: float = 100.0
    max_audio_seconds: float = 600.0
    queue_size: int = 8                 # jobs waiting, not counting the running ones
    timeout: float = 300.0              # seconds a synchronous /upload-audio request waits for its result
    job_timeout: float = 3600.0         # a job running longer is stopped and failed
    keep_hours: float = 24.0            # finished jobs older than this are deleted
    max_results_mb: float = 2048.0      # beyond this, the oldest finished jobs are deleted
    api_key: str | None = field(default=None, repr=False)  # None: no key asked (loopback use)
    shutdown_grace: float = 3.0         # seconds a stopping server waits for connections and jobs
    upload_idle_seconds: float = 60.0   # an upload sending nothing for this long is refused (408)

    @property
    def max_upload_bytes(self) -> int:
        """The upload limit in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_results_bytes(self) -> int:
        """The disk limit of the kept jobs in bytes."""
        return int(self.max_results_mb * 1024 * 1024)


def check_settings(settings: ServeSettings) -> ServeSettings:
    """``settings`` with ``results_dir`` as a Path, after checking every value (ConfigError naming the flag)."""
    s = dataclasses.replace(settings, results_dir=Path(settings.results_dir))

    def need(ok: bool, text: str) -> None:
        if not ok:
            raise ConfigError(f"serve settings: {text}")

    def is_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    need(isinstance(s.host, str) and s.host.strip() != "" and not any(c.isspace() for c in s.host),
         f"--host must be a host name or address, got {s.host!r}")
    need(is_int(s.port) and 1 <= s.port <= 65535, f"--port must be an integer from 1 to 65535, got {s.port!r}")
    need(is_int(s.workers) and 1 <= s.workers <= 64, f"--workers must be an integer from 1 to 64, got {s.workers!r}")
    need(is_int(s.queue_size) and 0 <= s.queue_size <= 10000,
         f"--queue_size must be an integer from 0 to 10000, got {s.queue_size!r}")
    for name in ("max_upload_mb", "max_audio_seconds", "timeout", "job_timeout", "keep_hours", "max_results_mb",
                 "shutdown_grace", "upload_idle_seconds"):
        value = getattr(s, name)
        need(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0,
             f"--{name} must be a number > 0, got {value!r}")
    need(s.max_results_mb >= s.max_upload_mb,
         f"--max_results_mb ({s.max_results_mb:g}) must be at least --max_upload_mb ({s.max_upload_mb:g})")
    need(str(s.results_dir).strip() != "", "--results_dir must not be empty")
    if s.results_dir.exists() and not s.results_dir.is_dir():
        raise ConfigError(f"{s.results_dir}: --results_dir is a file, not a folder")
    if s.api_key is not None:
        need(isinstance(s.api_key, str) and s.api_key.strip() == s.api_key and len(s.api_key) >= 8
             and s.api_key.isprintable(),
             "the API key must be at least 8 printable characters without surrounding spaces")
    return s


class _NoKeyOnCommandLine(argparse.Action):
    """``--api_key`` refused (and kept from being read as an abbreviation of ``--api_key_file``)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: Namespace, values: Any, option: Any = None) -> None:
        parser.error(f"--api_key is not accepted (a key on the command line shows in `ps`); put it in a file for "
                     f"--api_key_file, or set {API_KEY_ENV}")


def add_serve_arguments(parser: Any, default_port: int = DEFAULT_PORT) -> None:
    """``--host --port --workers --results_dir --max_upload_mb --max_audio_seconds --queue_size --timeout
    --job_timeout --keep_hours --max_results_mb --api_key_file`` on ``parser`` (a parser or an argument group)."""
    d = ServeSettings()
    a = parser.add_argument
    a("--host", default=d.host,
      help=f"address to listen on (default {d.host}: this machine only; 0.0.0.0 exposes the service, then set a key)")
    a("--port", type=int, default=default_port, help=f"port to listen on (default {default_port})")
    a("--workers", type=int, default=d.workers,
      help=f"jobs processed at once, threads sharing the one loaded model (default {d.workers})")
    a("--results_dir", type=Path, default=d.results_dir,
      help=f"folder of the jobs (uploads and results) (default ./{d.results_dir})")
    a("--max_upload_mb", type=float, default=d.max_upload_mb,
      help=f"largest upload in MB; larger ones get 413 (default {d.max_upload_mb:g})")
    a("--max_audio_seconds", type=float, default=d.max_audio_seconds,
      help=f"longest audio in seconds; longer ones get 422 (default {d.max_audio_seconds:g})")
    a("--queue_size", type=int, default=d.queue_size,
      help=f"jobs that may wait, not counting running ones; more get 429 (default {d.queue_size})")
    a("--timeout", type=float, default=d.timeout,
      help=f"seconds POST /upload-audio waits for its result before answering 504 with the job's address "
           f"(the job goes on) (default {d.timeout:g})")
    a("--job_timeout", type=float, default=d.job_timeout,
      help=f"a job running longer than this many seconds is stopped and failed (default {d.job_timeout:g})")
    a("--keep_hours", type=float, default=d.keep_hours,
      help=f"finished jobs older than this are deleted (default {d.keep_hours:g})")
    a("--max_results_mb", type=float, default=d.max_results_mb,
      help=f"beyond this much disk use the oldest finished jobs are deleted (default {d.max_results_mb:g})")
    a("--api_key_file", type=Path,
      help=f"file holding the API key clients must send (X-API-Key or Authorization: Bearer); "
           f"or set {API_KEY_ENV}; default: no key")
    a("--api_key", action=_NoKeyOnCommandLine, help=argparse.SUPPRESS)


def read_api_key(path: Path | None, environ: dict[str, str] | None = None) -> str | None:
    """The API key from ``path`` (its first line, stripped), else from ``$TALKINGFACE_API_KEY``, else None."""
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(f"{path}: cannot read the API key file ({reason})") from None
        key = text.strip().splitlines()[0].strip() if text.strip() else ""
        if not key:
            raise ConfigError(f"{path}: the API key file is empty")
        return key
    key = (os.environ if environ is None else environ).get(API_KEY_ENV, "").strip()
    return key or None


def settings_from_args(args: Namespace) -> ServeSettings:
    """Checked :class:`ServeSettings` from the flags of :func:`add_serve_arguments`."""
    return check_settings(ServeSettings(
        host=args.host, port=args.port, workers=args.workers, results_dir=args.results_dir,
        max_upload_mb=args.max_upload_mb, max_audio_seconds=args.max_audio_seconds, queue_size=args.queue_size,
        timeout=args.timeout, job_timeout=args.job_timeout, keep_hours=args.keep_hours,
        max_results_mb=args.max_results_mb, api_key=read_api_key(args.api_key_file)))


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warn_if_exposed(settings: ServeSettings) -> None:
    """Log a warning when the service listens beyond this machine without an API key."""
    if settings.api_key is None and not is_loopback(settings.host):
        log.warning("listening on %s without an API key: anyone who can reach this port can use the service "
                    "(set --api_key_file or %s)", settings.host, API_KEY_ENV)
