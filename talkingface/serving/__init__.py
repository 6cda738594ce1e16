"""A model as an HTTP service: the authors' ``POST /upload-audio`` (done properly) plus a jobs API and health.

    from talkingface.serving import add_serve_arguments, serve, settings_from_args
    add_serve_arguments(parser, default_port=5828)
    return serve(MyProcessor(...), settings_from_args(parser.parse_args(argv)))

The core (uploads and their limits, the bounded queue and its workers, jobs on disk, health, shutdown) knows nothing
of models; a model package's adapter implements :class:`Processor`. One module per job: ``settings`` (flags and
checks), ``sniff`` (format by content, audio duration), ``uploads`` (streaming multipart within limits), ``jobs``
(records and files on disk, recovery, retention), ``workers`` (queue and worker threads), ``service`` (state and
health), ``app`` (the endpoints), ``access_log``, ``server`` (uvicorn, signals). See docs/serving.md.
"""
from __future__ import annotations

from typing import Any

from talkingface.serving.processor import JobCancelled, Processor
from talkingface.serving.settings import ServeSettings, add_serve_arguments, settings_from_args

__all__ = ["JobCancelled", "Processor", "ServeSettings", "add_serve_arguments", "create_app", "serve",
           "settings_from_args"]


def __getattr__(name: str) -> Any:
    """``create_app`` and ``serve`` are imported on first use: the protocol, the settings and the flags work without
    the web stack (FastAPI, uvicorn) being imported, e.g. for a command's ``--help`` or an adapter's unit tests."""
    if name == "create_app":
        from talkingface.serving.app import create_app
        return create_app
    if name == "serve":
        from talkingface.serving.server import serve
        return serve
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
