"""``create_app(processor, settings)``: the FastAPI app — health, the authors' synchronous ``/upload-audio`` and the
jobs API — around a :class:`~talkingface.serving.service.Service`.

Every refusal is a JSON ``{"detail": ...}`` with its status (see docs/serving.md for the table). The handlers never
block the event loop: decoding checks and ``validate`` run on threads, a synchronous request awaits its job's future.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse, Response

from talkingface.fsutil import remove_quietly
from talkingface.serving.access_log import CLIENT_GONE, AccessLog, human_size
from talkingface.serving.jobs import Job
from talkingface.serving.problems import ClientGone, Problem
from talkingface.serving.processor import Processor
from talkingface.serving.service import Service
from talkingface.serving.settings import ServeSettings, check_settings
from talkingface.serving.uploads import inspect_upload, log_name, receive_upload
from talkingface.serving.workers import INTERNAL_ERROR

log = logging.getLogger(__name__)

NOT_FOUND = "no such job (unknown, or deleted)"


def _check_key(request: Request, key: str | None) -> None:
    """Problem 401 unless the request carries ``key`` (``X-API-Key: KEY`` or ``Authorization: Bearer KEY``)."""
    if key is None:
        return
    given = request.headers.get("x-api-key")
    if given is None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = token.strip() if scheme.lower() == "bearer" else None
    if given is None or not hmac.compare_digest(given.encode("utf-8", "replace"), key.encode("utf-8")):
        raise Problem(401, "missing or wrong API key (send X-API-Key: KEY or Authorization: Bearer KEY)",
                      close=request.method == "POST", headers={"WWW-Authenticate": "Bearer"})


def _urls(request: Request, job_id: str) -> dict[str, str]:
    return {"status_url": str(request.url_for("job_status", job_id=job_id)),
            "result_url": str(request.url_for("job_result", job_id=job_id))}


def _result_response(service: Service, job: Job) -> Response:
    path = service.store.result_path(job)
    if path is None:
        raise Problem(410, "the result file is gone (deleted by retention?)", id=job.id, state=job.state)
    name = f"{job.stem}_synced{service.processor.result_suffix}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "X-Job-Id": job.id}
    return FileResponse(path, media_type=service.processor.media_type, headers=headers)


def _failure(job: Job) -> Problem:
    """The answer for a job that did not end done (422 the client's fault, 503 stopped, 500 otherwise)."""
    extra = {"id": job.id, "state": job.state, "headers": {"X-Job-Id": job.id}}
    if job.error_kind == "user":
        return Problem(422, job.error or "the job failed", **extra)
    if job.error_kind == "stopped":
        return Problem(503, job.error or "the server stopped", **extra)
    if job.error_kind == "timeout":
        return Problem(500, job.error or "the job timed out", **extra)
    if job.state == "cancelled":
        return Problem(410, "the job was cancelled", **extra)
    return Problem(500, INTERNAL_ERROR, **extra)


async def _accept(request: Request, service: Service) -> Job:
    """Checks, upload, inspection and queueing shared by ``/upload-audio`` and ``/jobs``."""
    _check_key(request, service.settings.api_key)
    service.require_ready()
    service.require_room()
    path = service.store.new_upload_path()
    upload = await receive_upload(request, path, service.settings.max_upload_bytes,
                                  service.settings.upload_idle_seconds)
    upload = await run_in_threadpool(inspect_upload, upload, service.settings.max_audio_seconds, service.processor)
    suffix = upload.fmt.suffix if upload.fmt is not None else ".bin"
    try:
        job = service.store.add(upload.path, suffix, upload.filename, upload.stem, upload.audio_seconds)
    except BaseException:
        remove_quietly(upload.path)
        raise
    refused = service.queue.submit(job.id)
    if refused is not None:
        service.store.delete(job.id)
        service.require_ready()
        raise Problem(429, f"the queue is full ({service.settings.queue_size} waiting); try again later",
                      headers={"Retry-After": str(service.queue.retry_after())})
    log.info("job %s queued: %s, %s, %.1f s of %s", job.id, log_name(upload.filename), human_size(upload.size),
             upload.audio_seconds or 0.0, suffix.lstrip("."))
    return job


def _add_routes(app: FastAPI, service: Service) -> None:
    @app.get("/health")
    async def health() -> JSONResponse:
        status, body = service.health()
        return JSONResponse(body, status_code=status)

    @app.post("/upload-audio")
    async def upload_audio(request: Request) -> Response:
        job = await _accept(request, service)
        future = service.queue.waiter(job.id)
        try:
            final = await asyncio.wait_for(asyncio.shield(future), service.settings.timeout)
        except asyncio.TimeoutError:
            service.queue.forget(job.id, future)
            raise Problem(504, f"the job did not finish within --timeout ({service.settings.timeout:g} s); it goes "
                          f"on: poll status_url, then fetch result_url", id=job.id, **_urls(request, job.id),
                          headers={"X-Job-Id": job.id}) from None
        if final is None:
            if service.status == "stopping":
                raise Problem(503, "the server is stopping; the job did not finish", id=job.id,
                              headers={"X-Job-Id": job.id})
            raise Problem(410, "the job was deleted", id=job.id, headers={"X-Job-Id": job.id})
        if final.state == "done":
            return _result_response(service, final)
        raise _failure(final)

    @app.post("/jobs", status_code=202)
    async def create_job(request: Request) -> JSONResponse:
        job = await _accept(request, service)
        urls = _urls(request, job.id)
        return JSONResponse({"id": job.id, "state": job.state, **urls}, status_code=202,
                            headers={"Location": urls["status_url"], "X-Job-Id": job.id})

    def known(request: Request, job_id: str) -> Job:
        _check_key(request, service.settings.api_key)
        job = service.store.get(job_id)         # checks the id's form before anything else
        if job is None:
            raise Problem(404, NOT_FOUND)
        return job

    @app.get("/jobs/{job_id}", name="job_status")
    async def job_status(request: Request, job_id: str) -> JSONResponse:
        job = known(request, job_id)
        return JSONResponse(job.public(), headers={"X-Job-Id": job.id})

    @app.get("/jobs/{job_id}/result", name="job_result")
    async def job_result(request: Request, job_id: str) -> Response:
        job = known(request, job_id)
        if job.state == "done":
            return _result_response(service, job)
        if job.state in ("queued", "running"):
            raise Problem(409, f"the job is {job.state}; poll status_url until it is done", id=job.id,
                          state=job.state, progress=job.progress, headers={"X-Job-Id": job.id})
        raise Problem(410, _failure(job).detail, id=job.id, state=job.state, headers={"X-Job-Id": job.id})

    @app.delete("/jobs/{job_id}")
    async def delete_job(request: Request, job_id: str) -> Response:
        job = known(request, job_id)
        outcome = service.queue.cancel(job.id)
        if outcome == "unknown":
            raise Problem(404, NOT_FOUND)
        if outcome == "stopping":
            return JSONResponse({"id": job.id, "state": "running", "detail": "cancelling; deleted when it stops"},
                                status_code=202, headers={"X-Job-Id": job.id})
        return Response(status_code=204, headers={"X-Job-Id": job.id})


#: a refused request's unread body up to this size is read and dropped before the answer (see :func:`_drain`)
DRAIN_LIMIT = 16 * 2**20
DRAIN_SECONDS = 10.0


async def _drain(request: Request, limit: int) -> bool:
    """Read and drop the unread body of a refused POST whose ``Content-Length`` is at most ``limit``; True when done.

    Closing a connection whose received data was never read makes the kernel send a reset, which can destroy the
    answer (a 429, 503 or 401) before the client reads it: clients then see a connection error instead of the status
    and its Retry-After. A body that is large, of unknown length, already partly read (a 413 while streaming) or
    that does not arrive within DRAIN_SECONDS is not read: that answer closes the connection."""
    if request.method != "POST" or getattr(request.state, "body_started", False):
        return False
    try:
        length = int(request.headers.get("content-length", ""))
    except ValueError:
        return False
    if not 0 <= length <= limit:
        return False

    async def read_all() -> None:
        async for _ in request.stream():
            pass

    try:
        await asyncio.wait_for(read_all(), DRAIN_SECONDS)
    except Exception:                 # noqa: BLE001 - consumed already, client gone, too slow: close instead
        return False
    return True


class _InternalErrors:
    """ASGI middleware: an unexpected exception becomes a generic JSON 500; its traceback goes to the log only."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:                    # noqa: BLE001 - the client gets a generic line, the log the rest
            if scope["type"] != "http":
                raise
            log.error("%s %s: internal error\n%s", scope.get("method"), ascii(scope.get("path", "")),
                      "".join(traceback.format_exception(exc)).rstrip())
            if not started:
                headers = {"Connection": "close"} if scope.get("method") == "POST" else None
                await JSONResponse({"detail": INTERNAL_ERROR}, status_code=500, headers=headers)(scope, receive, send)


def create_app(processor: Processor, settings: ServeSettings) -> FastAPI:
    """The service's ASGI app; its lifespan starts the :class:`Service` (jobs recovered, workers, loading) and
    stops it. The service is ``app.state.service``."""
    settings = check_settings(settings)
    service = Service(processor, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        yield
        await run_in_threadpool(service.close)

    app = FastAPI(title=f"talkingface-kit {processor.name} service", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.service = service

    @app.exception_handler(Problem)
    async def problem_handler(request: Request, exc: Problem) -> Response:
        if exc.close and await _drain(request, min(DRAIN_LIMIT, settings.max_upload_bytes)):
            exc.close = False
        return exc.response()

    @app.exception_handler(ClientGone)
    async def gone_handler(request: Request, exc: ClientGone) -> Response:
        return Response(status_code=CLIENT_GONE)

    _add_routes(app, service)
    app.add_middleware(_InternalErrors)
    app.add_middleware(AccessLog)
    return app


def app_service(app: Any) -> Service:
    """The :class:`Service` of an app made by :func:`create_app`."""
    return app.state.service
