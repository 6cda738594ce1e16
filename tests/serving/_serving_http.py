"""HTTP helpers of the serving tests: hand-made multipart bodies, raw-socket requests, job polling."""
from __future__ import annotations

import socket
import time

import httpx

BOUNDARY = b"kit-test-boundary-7d1"
MULTIPART = "multipart/form-data; boundary=" + BOUNDARY.decode()


def part_head(field: bytes = b"file", filename: bytes = b"speech.wav", ctype: bytes = b"audio/wav") -> bytes:
    return (b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="' + field + b'"; filename="' + filename
            + b'"\r\nContent-Type: ' + ctype + b"\r\n\r\n")


def multipart(content: bytes, field: bytes = b"file", filename: bytes = b"speech.wav") -> bytes:
    """A whole multipart body with one part (raw bytes: any file name, even with NUL or newlines)."""
    return part_head(field, filename) + content + b"\r\n--" + BOUNDARY + b"--\r\n"


def raw_request(port: int, head: bytes, body: bytes = b"", read: bool = True, timeout: float = 10.0) -> bytes:
    """Send ``head`` (request line and headers, ending in a blank line) and ``body`` on a fresh connection; what
    the server answered (until it closes or ``timeout``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head + body)
        if not read:
            return b""
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
        return b"".join(chunks)


def post_head(path: str, length: int, ctype: str = MULTIPART) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def wait_job(client: httpx.Client, url: str, job_id: str, timeout: float = 15.0,
             until: tuple[str, ...] = ("done", "failed", "cancelled")) -> dict:
    """Poll ``GET /jobs/{id}`` until its state is in ``until``; the last JSON."""
    end = time.monotonic() + timeout
    while True:
        r = client.get(f"{url}/jobs/{job_id}")
        assert r.status_code == 200, r.text
        job = r.json()
        if job["state"] in until:
            return job
        assert time.monotonic() < end, f"job {job_id} still {job['state']} after {timeout} s"
        time.sleep(0.05)


def wait_for(predicate, timeout: float = 10.0, what: str = "the condition") -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, f"{what} did not happen within {timeout} s"
        time.sleep(0.05)
