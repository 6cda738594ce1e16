"""Live servers for tests: start a service command as a subprocess on a free port, wait for ``/health``, stop it.

    server = start_server(FAKE_SERVICE, ["--results_dir", tmp_path / "r", "--job_seconds", "0.2"])
    server = start_server("lawdnet.serve", ["--results_dir", d, ...], env={"CUDA_VISIBLE_DEVICES": ""},
                          ready_timeout=300)          # a module: run as python -m lawdnet.serve
    httpx.get(server.url + "/health")
    assert server.stop() == 0                          # SIGTERM, then the exit status (fails the test after timeout)
    server.kill()                                      # SIGKILL

``start_server`` appends ``--port P`` (a free port) to ``args``; the command's stdout and stderr go to a log file
(``server.log()`` reads it; it is shown when a start fails). It waits until ``GET /health`` answers 200 (``ready=True``)
or answers at all (``ready=False``: loading, failed). Use it as a context manager to always stop the process.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
FAKE_SERVICE = Path(__file__).resolve().parent / "serving" / "_fake_service.py"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    """A service command running in a subprocess."""

    proc: subprocess.Popen
    port: int
    log_path: Path
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        """What the command wrote to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def health(self, timeout: float = 5.0) -> httpx.Response:
        return httpx.get(self.url + "/health", timeout=timeout)

    def wait_health(self, ready: bool = True, timeout: float = 60.0) -> dict:
        """Poll ``/health`` until it answers 200 (``ready``) or anything; its JSON. Raises with the log when the
        process ends or the time is up."""
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}) before /health answered:\n"
                                   f"{self.log()}")
            try:
                r = self.health(timeout=2.0)
                if r.status_code == 200 or not ready:
                    return r.json()
            except httpx.TransportError:
                pass
            if time.monotonic() > end:
                raise RuntimeError(f"/health did not answer {'200 ' if ready else ''}within {timeout} s:\n{self.log()}")
            time.sleep(0.05)

    def rss_kb(self) -> int:
        """The process's resident memory (VmRSS) in kB (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS line")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send ``sig`` and wait for the exit status (SIGKILL and an error after ``timeout`` s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(f"the server did not exit within {timeout} s of {signal.Signals(sig).name}:\n"
                                   f"{self.log()}") from None
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL (no clean-up at all) and wait."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            try:
                self.stop()
            except RuntimeError:
                pass


def _command(target: str | os.PathLike[str]) -> list[str]:
    text = str(target)
    if text.endswith(".py"):
        return [sys.executable, text]
    return [sys.executable, "-m", text]


def start_server(target: str | os.PathLike[str], args: Sequence[object] = (), env: dict[str, str] | None = None, *,
                 ready: bool = True, ready_timeout: float = 60.0, log_dir: Path | None = None) -> LiveServer:
    """Start ``target`` (a ``.py`` script path, or a module name run with ``python -m``) with ``args`` and
    ``--port <free port>``, the repository on PYTHONPATH and ``env`` added to the environment; wait for
    ``/health`` (see :meth:`LiveServer.wait_health`). A port taken in between is retried on another."""
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                    OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    full_env.update(env or {})
    for attempt in range(3):
        port = free_port()
        fd, log_name = tempfile.mkstemp(prefix="serve-", suffix=".log", dir=log_dir)
        with os.fdopen(fd, "wb") as log_file:
            proc = subprocess.Popen([*_command(target), *map(str, args), "--port", str(port)], env=full_env,
                                    cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        server = LiveServer(proc=proc, port=port, log_path=Path(log_name))
        try:
            server.wait_health(ready=ready, timeout=ready_timeout)
            return server
        except RuntimeError:
            server.kill()
            if attempt < 2 and "address already in use" in server.log().lower():
                continue
            raise
    raise AssertionError("unreachable")
