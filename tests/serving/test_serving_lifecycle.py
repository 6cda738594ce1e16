"""A live service's life: loading and a failed load, the API key, a full queue, SIGTERM and SIGKILL during jobs
(clean exit 0; after a restart such jobs are failed, never done), a port already taken."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from _fake_service import SLOW_RATE
from _serving_http import wait_for, wait_job
from _serving_media import wav_bytes
from live_server import FAKE_SERVICE, REPO, start_server

KEY = "test-key-5f0c1d2e"
SLOW = wav_bytes(0.2, rate=SLOW_RATE)


def _args(tmp_path, *extra):
    return ["--results_dir", tmp_path / "results", "--slow_job_seconds", 30, "--job_seconds", 0.1, *extra]


def _post_job(url: str, audio: bytes = SLOW) -> str:
    r = httpx.post(url + "/jobs", files={"file": ("s.wav", audio)}, timeout=30)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_loading_answers_503_until_ready(tmp_path):
    with start_server(FAKE_SERVICE, _args(tmp_path, "--load_seconds", 1.0), ready=False, log_dir=tmp_path) as srv:
        r = srv.health()
        assert r.status_code == 503 and r.json()["status"] == "loading" and r.json()["processor"] is None
        busy = httpx.post(srv.url + "/upload-audio", files={"file": ("a.wav", wav_bytes(0.2))})
        assert busy.status_code == 503 and int(busy.headers["retry-after"]) >= 1
        assert srv.wait_health(timeout=20)["status"] == "ready"
        assert httpx.post(srv.url + "/upload-audio", files={"file": ("a.wav", wav_bytes(0.2))}).status_code == 200


def test_a_failed_load_is_reported_by_health_and_the_log(tmp_path):
    with start_server(FAKE_SERVICE, _args(tmp_path, "--fail_load"), ready=False, log_dir=tmp_path) as srv:
        wait_for(lambda: srv.health().json()["status"] == "failed", what="the failed load")
        r = srv.health()
        assert r.status_code == 503 and "weights file is missing" in r.json()["reason"]
        assert httpx.post(srv.url + "/jobs", files={"file": ("a.wav", wav_bytes(0.2))}).status_code == 503
        assert "error: fake could not be loaded: fake: the weights file is missing" in srv.log()
        assert srv.stop() == 0


def test_the_api_key_is_required_except_for_health(tmp_path):
    env = {"TALKINGFACE_API_KEY": KEY}
    with start_server(FAKE_SERVICE, _args(tmp_path), env=env, log_dir=tmp_path) as srv, httpx.Client() as c:
        files = {"file": ("a.wav", wav_bytes(0.2))}
        assert c.get(srv.url + "/health").status_code == 200
        for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": f"Basic {KEY}"}, {"X-API-Key": KEY[:-1]}):
            r = c.post(srv.url + "/upload-audio", files=files, headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", headers
        r = c.post(srv.url + "/upload-audio", files=files, headers={"X-API-Key": KEY})
        assert r.status_code == 200
        job_url = f"{srv.url}/jobs/{r.headers['x-job-id']}"
        assert c.get(job_url, headers={"Authorization": f"Bearer {KEY}"}).json()["state"] == "done"
        assert c.get(job_url).status_code == 401 and c.get(job_url + "/result").status_code == 401
        assert c.delete(job_url).status_code == 401
        assert KEY not in srv.log()


def test_sigterm_during_jobs_exits_0_soon_and_a_restart_reports_them_failed(tmp_path):
    args = _args(tmp_path, "--workers", 1, "--queue_size", 2, "--timeout", 60)
    srv = start_server(FAKE_SERVICE, args, log_dir=tmp_path)
    running = _post_job(srv.url)
    with httpx.Client(timeout=30) as c:
        wait_job(c, srv.url, running, until=("running",))
    queued = _post_job(srv.url)
    waiting: list[httpx.Response] = []
    sync = threading.Thread(target=lambda: waiting.append(
        httpx.post(srv.url + "/upload-audio", files={"file": ("w.wav", SLOW)}, timeout=30)))
    sync.start()
    wait_for(lambda: srv.health().json()["queue"]["queued"] == 2, what="two queued jobs")
    full = httpx.post(srv.url + "/jobs", files={"file": ("f.wav", SLOW)})
    assert full.status_code == 429 and int(full.headers["retry-after"]) >= 1

    t0 = time.monotonic()
    assert srv.stop(signal.SIGTERM, timeout=10) == 0, srv.log()
    assert time.monotonic() - t0 < 5
    sync.join(5)
    assert waiting and waiting[0].status_code == 503, waiting
    assert f"job {running} failed: the server stopped (SIGTERM) while the job ran" in srv.log()

    with start_server(FAKE_SERVICE, args, log_dir=tmp_path) as again, httpx.Client() as c:
        job = c.get(f"{again.url}/jobs/{running}").json()
        assert (job["state"], job["error"]) == ("failed", "the server stopped (SIGTERM) while the job ran")
        assert c.get(f"{again.url}/jobs/{queued}").json()["error"] == "the server stopped before the job started"
        assert c.get(f"{again.url}/jobs/{running}/result").status_code == 410


def test_sigkill_during_a_job_is_failed_not_done_after_a_restart(tmp_path):
    args = _args(tmp_path)
    srv = start_server(FAKE_SERVICE, args, log_dir=tmp_path)
    job_id = _post_job(srv.url)
    with httpx.Client(timeout=30) as c:
        wait_job(c, srv.url, job_id, until=("running",))
    srv.kill()
    assert srv.proc.returncode == -signal.SIGKILL
    with start_server(FAKE_SERVICE, args, log_dir=tmp_path) as again, httpx.Client() as c:
        job = c.get(f"{again.url}/jobs/{job_id}").json()
        assert (job["state"], job["error"]) == ("failed", "the server stopped before the job finished")
        assert c.get(f"{again.url}/jobs/{job_id}/result").status_code == 410
        folder = tmp_path / "results" / "jobs" / job_id
        assert sorted(p.name for p in folder.iterdir()) == ["input.wav", "job.json"]
        assert again.health().json()["jobs_kept"] == 1


def test_a_port_already_taken_is_one_error_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, str(FAKE_SERVICE), *map(str, _args(tmp_path)), "--port", str(port)],
                              cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"error: cannot serve on 127.0.0.1:{port}" in proc.stderr


@pytest.mark.parametrize("argv, text", [(["--workers", "0"], "--workers"), (["--api_key", "x"], "--api_key_file")])
def test_bad_flags_stop_the_command_with_one_line(tmp_path, argv, text):
    proc = subprocess.run([sys.executable, str(FAKE_SERVICE), *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and text in proc.stderr and "Traceback" not in proc.stderr
