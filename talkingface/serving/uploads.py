"""Uploads: the multipart field ``file`` streamed to a server-named file, within a byte limit, then checked.

:func:`receive_upload` refuses a ``Content-Length`` over the limit before reading anything, and otherwise counts
bytes while streaming (python-multipart's streaming parser) and stops at the limit — a 2 GB body is never read to
its end. The client's file name is only sanitised for logs and for the download's name (:func:`safe_stem`), never
used for a path. :func:`inspect_upload` then sniffs the format by content, decodes the audio within the duration
limit and asks the processor's ``validate``.
"""
from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.requests import ClientDisconnect, Request

from talkingface.errors import KitError, one_line
from talkingface.fsutil import remove_quietly
from talkingface.serving.problems import ClientGone, Problem
from talkingface.serving.processor import Processor
from talkingface.serving.sniff import SUPPORTED, AudioFormat, AudioTooLong, UnsupportedAudio, check_audio, sniff_file

log = logging.getLogger(__name__)

SLACK = 64 * 1024           # multipart framing and small fields allowed beyond the file's own bytes
FIELD = b"file"             # the authors' field name
NO_FILE_PART = "No file part: send the audio as the multipart/form-data field `file`"


def mb(n: float) -> str:
    """``n`` bytes in MB, for messages."""
    return f"{n / (1024 * 1024):.1f} MB"


def safe_stem(name: str) -> str:
    """A client's file name reduced to a harmless stem (letters, digits, ``._-``; 64 at most) for the download's
    name; ``audio`` when nothing is left."""
    base = re.split(r"[\\/]", name)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.strip(".") else base
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:64]
    return stem or "audio"


def log_name(name: str) -> str:
    """A client's file name for a log line: quoted, escaped (no newlines or NULs), at most 80 characters."""
    return ascii(name[:80])


@dataclass
class Upload:
    """An upload on disk under a server-made name."""

    path: Path
    filename: str               # the client's name as sent (never used for a path)
    size: int
    fmt: AudioFormat | None = None
    audio_seconds: float | None = None

    @property
    def stem(self) -> str:
        return safe_stem(self.filename)


@dataclass
class _Receiver:
    """python-multipart callbacks writing the first ``file`` part to ``path``, at most ``limit`` bytes."""

    path: Path
    limit: int
    size: int = 0
    seen_file: bool = False
    complete: bool = False
    filename: str = ""
    _fh: IO[bytes] | None = None
    _in_file: bool = False
    _headers: dict[bytes, bytes] = field(default_factory=dict)
    _name: bytes = b""
    _value: bytes = b""

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self._part_begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
                "on_part_end": self._part_end, "on_end": self._end}

    def _part_begin(self) -> None:
        self._headers, self._in_file = {}, False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._name.lower()] = self._value
        self._name, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name") == FIELD and not self.seen_file:
            self.seen_file = self._in_file = True
            self.filename = options.get(b"filename", b"").decode("utf-8", "replace")
            self._fh = open(self.path, "wb")    # noqa: SIM115 - closed by close()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file and self._fh is not None:
            self.size += end - start
            if self.size > self.limit:
                raise Problem(413, f"the file is larger than the limit of {mb(self.limit)}", close=True)
            self._fh.write(data[start:end])

    def _part_end(self) -> None:
        self._in_file = False

    def _end(self) -> None:
        self.complete = True

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


async def receive_upload(request: Request, path: Path, max_bytes: int, idle_seconds: float = 60.0) -> Upload:
    """Stream the request's multipart field ``file`` into ``path`` (a server-made file), refusing more than
    ``max_bytes`` (413), a body without the field (400), an empty file (400) or a body that stalls for
    ``idle_seconds`` (408). ``path`` is deleted on any error."""
    ctype, params = parse_options_header(request.headers.get("content-type"))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        remove_quietly(path)
        raise Problem(400, NO_FILE_PART, close=True)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes + SLACK:
        remove_quietly(path)
        raise Problem(413, f"the upload is {mb(int(declared))}; the limit is {mb(max_bytes)}", close=True)
    receiver = _Receiver(path, max_bytes)
    received = 0
    request.state.body_started = True          # a refusal from here on closes the connection (no drain: app.py)
    try:
        parser = MultipartParser(params[b"boundary"], receiver.callbacks())   # type: ignore[arg-type]
        chunks = request.stream().__aiter__()
        while True:
            try:
                chunk = await asyncio.wait_for(chunks.__anext__(), idle_seconds)
            except StopAsyncIteration:
                break
            except asyncio.TimeoutError:
                raise Problem(408, f"the upload stalled: no data for {idle_seconds:g} s", close=True) from None
            received += len(chunk)
            if received > max_bytes + SLACK:
                raise Problem(413, f"the upload is larger than the limit of {mb(max_bytes)}", close=True)
            parser.write(chunk)
        parser.finalize()
    except ClientDisconnect:
        receiver.close()
        remove_quietly(path)
        log.info("POST %s: the client %s went away during the upload after %s; nothing kept", request.url.path,
                 request.client.host if request.client else "?", mb(received))
        raise ClientGone from None
    except FormParserError as exc:
        receiver.close()
        remove_quietly(path)
        raise Problem(400, f"malformed multipart body ({one_line(exc)})", close=True) from None
    except BaseException:
        receiver.close()
        remove_quietly(path)
        raise
    receiver.close()
    problem = None
    if not receiver.complete:
        problem = "the multipart body ended early"
    elif not receiver.seen_file:
        problem = NO_FILE_PART
    elif receiver.size == 0:
        problem = "No selected file" if not receiver.filename else "the file is empty (0 bytes)"
    if problem is not None:
        remove_quietly(path)
        raise Problem(400, problem)
    return Upload(path=path, filename=receiver.filename, size=receiver.size)


def inspect_upload(upload: Upload, max_seconds: float, processor: Processor) -> Upload:
    """Sniff the format by content (415), decode the audio within ``max_seconds`` (415 / 422), rename the file to
    its format's suffix and ask ``processor.validate`` (422). Blocking: run it on a thread. The file is deleted on
    any refusal."""
    try:
        fmt = sniff_file(upload.path)
        if fmt is None:
            raise Problem(415, f"not a supported audio file (judged by its content; supported: {SUPPORTED})")
        seconds = check_audio(upload.path, fmt, max_seconds)
        named = upload.path.with_suffix(fmt.suffix)
        upload.path = upload.path.rename(named)
        processor.validate(upload.path)
    except UnsupportedAudio as exc:
        remove_quietly(upload.path)
        raise Problem(415, f"{one_line(exc)} (supported: {SUPPORTED})") from None
    except (AudioTooLong, KitError) as exc:
        remove_quietly(upload.path)
        raise Problem(422, one_line(exc)) from None
    except BaseException:
        remove_quietly(upload.path)
        raise
    upload.fmt, upload.audio_seconds = fmt, round(seconds, 3)
    return upload
