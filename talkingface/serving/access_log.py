"""``AccessLog``: one log line per request (uvicorn's own access log is off).

    POST /upload-audio 200 1.2 MB 3.41 s client=127.0.0.1 job=3f2c…

The size is what the client sent (uploads), else what it was sent (downloads). ``GET /health`` is logged at debug
level (health checks every few seconds would drown everything else). A request whose client went away mid-upload
has already logged its own line (status 499 here) and is not logged again.
"""
from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger(__name__)

CLIENT_GONE = 499           # nginx's "client closed request": never sent, only marks the case here
Scope = dict[str, Any]


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} B"


class AccessLog:
    """Pure ASGI middleware (streaming bodies pass through untouched)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.monotonic()
        seen = {"in": 0, "out": 0, "status": None, "job": None}

        async def counting_receive() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                seen["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"x-job-id":
                        seen["job"] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                seen["out"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            if seen["status"] != CLIENT_GONE:
                path = ascii(scope.get("path", ""))[1:-1][:200]
                client = scope.get("client")
                line = (f"{scope.get('method', '?')} {path} {seen['status'] or '-'} "
                        f"{human_size(seen['in'] or seen['out'])} {time.monotonic() - t0:.2f} s "
                        f"client={client[0] if client else '-'}")
                if seen["job"]:
                    line += f" job={seen['job']}"
                level = logging.DEBUG if path == "/health" else logging.INFO
                log.log(level, "%s", line)
