"""``Problem``: an HTTP error answer a client can act on (status, one-line detail, extra JSON fields, headers).

Raised anywhere in a request's handling and turned into ``{"detail": ..., **extra}`` by the app's handler. A problem
answered before the request body was read to its end also closes the connection (``Connection: close``), so the
server never reads (and discards) the rest of a body it has refused.
"""
from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class Problem(Exception):
    """An HTTP error answer: ``status``, a one-line ``detail``, extra JSON fields and headers."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None, close: bool = False,
                 **extra: Any):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})
        self.close = close
        self.extra = extra

    def response(self) -> JSONResponse:
        """The JSON answer."""
        headers = dict(self.headers)
        if self.close:
            headers["Connection"] = "close"
        return JSONResponse({"detail": self.detail, **self.extra}, status_code=self.status, headers=headers)


class ClientGone(Exception):
    """The client went away (mid-upload); nothing can be answered."""
