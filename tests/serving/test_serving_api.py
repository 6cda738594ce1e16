"""The service's HTTP API against one live fake server (a subprocess): the authors' request, the jobs API, every
refusal with its status, uploads that lie about their size or leave halfway, hostile file names, retention at start."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest
from _fake_service import INTERNAL_ERROR_RATE, RESULT_MAGIC, SLOW_RATE, USER_ERROR_RATE
from _serving_http import MULTIPART, multipart, part_head, post_head, raw_request, wait_for, wait_job
from _serving_media import lying_wav_bytes, wav_bytes
from live_server import FAKE_SERVICE, start_server

LIMIT_MB = 1


def _plant_old_job(results: Path) -> str:
    job_id = uuid.uuid4().hex
    folder = results / "jobs" / job_id
    folder.mkdir(parents=True)
    (folder / "result.mp4").write_bytes(b"old")
    record = {"id": job_id, "state": "done", "created": time.time() - 50 * 3600, "input_name": "input.wav",
              "finished": time.time() - 48 * 3600}
    (folder / "job.json").write_text(json.dumps(record))
    return job_id


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("serving_api")
    results = root / "results"
    old = _plant_old_job(results)
    srv = start_server(FAKE_SERVICE, ["--results_dir", results, "--workers", 2, "--queue_size", 4,
                                      "--job_seconds", 0.1, "--slow_job_seconds", 1.5, "--timeout", 0.5,
                                      "--max_upload_mb", LIMIT_MB, "--max_audio_seconds", 30,
                                      "--max_results_mb", 64, "--upload_idle_seconds", 1], log_dir=root)
    srv.root, srv.results, srv.old_job = root, results, old
    yield srv
    assert srv.stop() == 0, srv.log()


@pytest.fixture()
def client():
    with httpx.Client(timeout=30) as c:
        yield c


def _jobs(server) -> set[str]:
    return {p.name for p in (server.results / "jobs").iterdir()}


def _incoming(server) -> list[str]:
    return [p.name for p in (server.results / "incoming").iterdir()]


def test_health_reports_ready_queue_versions_and_the_processor(server, client):
    r = client.get(server.url + "/health")
    body = r.json()
    assert r.status_code == 200 and body["status"] in ("ready", "busy")
    assert body["queue"] == {"queued": 0, "running": 0, "bound": 4, "workers": 2}
    assert {"talkingface-kit", "python", "fastapi", "uvicorn"} <= set(body["versions"])
    assert body["processor"]["name"] == "fake" and body["uptime_s"] >= 0


def test_old_finished_jobs_are_deleted_at_start(server):
    assert server.old_job not in _jobs(server)


def test_the_authors_client_request_gets_the_result(server, client):
    audio = wav_bytes(0.5)
    r = client.post(server.url + "/upload-audio", files={"file": ("my speech.wav", audio, "audio/wav")})
    assert r.status_code == 200, r.text
    assert r.content == RESULT_MAGIC + audio
    assert r.headers["content-type"] == "video/mp4"
    assert r.headers["content-disposition"] == 'attachment; filename="my_speech_synced.mp4"'
    job = client.get(f"{server.url}/jobs/{r.headers['x-job-id']}").json()
    assert job["state"] == "done" and job["result_bytes"] == len(r.content) and job["audio_seconds"] == 0.5
    wait_for(lambda: f"job={job['id']}" in server.log(), what="the access log line")   # logged once the answer is out
    assert "POST /upload-audio 200 15.8 KB" in server.log()


def test_jobs_round_trip(server, client):
    r = client.post(server.url + "/jobs", files={"file": ("a.wav", wav_bytes(0.3))})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert r.json()["status_url"].endswith(f"/jobs/{job_id}") and r.headers["location"] == r.json()["status_url"]
    job = wait_job(client, server.url, job_id)
    assert job["state"] == "done" and job["progress"] == 1.0 and job["started"] >= job["created"]
    result = client.get(r.json()["result_url"])
    assert result.status_code == 200 and result.content.startswith(RESULT_MAGIC)
    assert client.delete(f"{server.url}/jobs/{job_id}").status_code == 204
    assert client.get(f"{server.url}/jobs/{job_id}").status_code == 404
    assert client.get(f"{server.url}/jobs/{job_id}/result").status_code == 404
    assert job_id not in _jobs(server)


def test_sync_timeout_answers_504_and_the_job_goes_on(server, client):
    r = client.post(server.url + "/upload-audio", files={"file": ("slow.wav", wav_bytes(0.2, rate=SLOW_RATE))})
    assert r.status_code == 504, r.text
    body = r.json()
    early = client.get(f"{server.url}/jobs/{body['id']}/result")
    assert early.status_code == 409 and early.json()["state"] in ("queued", "running")
    assert wait_job(client, server.url, body["id"])["state"] == "done"
    assert client.get(body["result_url"]).content.startswith(RESULT_MAGIC)


def test_delete_a_running_job_stops_and_removes_it(server, client):
    job_id = client.post(server.url + "/jobs", files={"file": ("s.wav", wav_bytes(0.2, rate=SLOW_RATE))}).json()["id"]
    wait_job(client, server.url, job_id, until=("running",))
    r = client.delete(f"{server.url}/jobs/{job_id}")
    assert r.status_code == 202
    wait_for(lambda: client.get(f"{server.url}/jobs/{job_id}").status_code == 404, what="the job's deletion")
    wait_for(lambda: job_id not in _jobs(server), what="the job folder's removal")
    assert f"job {job_id} cancelled" in server.log()


@pytest.mark.parametrize("case, status, text", [
    ("other field", 400, "No file part"), ("not multipart", 400, "No file part"), ("empty", 400, "empty"),
    ("empty unnamed", 400, "No selected file"), ("text named .wav", 415, "not a supported audio"),
    ("mp3 magic then junk", 415, "does not decode"), ("header claims 10 hours", 422, "header says"),
    ("decodes longer than the limit", 422, "limit"), ("too short (validate)", 422, "at least"),
    ("truncated multipart", 400, "ended early"),
])
def test_bad_uploads_are_refused_with_their_status_and_leave_nothing(server, client, case, status, text):
    bodies = {
        "other field": multipart(wav_bytes(0.2), field=b"audio"),
        "empty": multipart(b""), "empty unnamed": multipart(b"", filename=b""),
        "text named .wav": multipart(b"hello, I am not audio\n" * 50, filename=b"x.wav"),
        "mp3 magic then junk": multipart(b"\xff\xfb\x90\x00" + bytes(range(256)) * 20, filename=b"x.mp3"),
        "header claims 10 hours": multipart(lying_wav_bytes(36000.0)),
        "decodes longer than the limit": multipart(wav_bytes(31.0, rate=8000)),
        "too short (validate)": multipart(wav_bytes(0.01)),
        "truncated multipart": part_head() + wav_bytes(0.2),
    }
    before = _jobs(server)
    if case == "not multipart":
        r = client.post(server.url + "/upload-audio", json={"file": "x"})
    else:
        r = client.post(server.url + "/upload-audio", content=bodies[case], headers={"Content-Type": MULTIPART})
    assert r.status_code == status and text in r.json()["detail"], r.text
    assert _jobs(server) == before and _incoming(server) == []


@pytest.mark.parametrize("rate, status, text", [(USER_ERROR_RATE, 422, "no face found"),
                                                (INTERNAL_ERROR_RATE, 500, "internal error")])
def test_a_failing_job_answers_422_for_the_clients_fault_and_500_otherwise(server, client, rate, status, text):
    r = client.post(server.url + "/upload-audio", files={"file": ("a.wav", wav_bytes(0.2, rate=rate))})
    assert r.status_code == status and text in r.json()["detail"]
    assert "Traceback" not in r.text and "fake: an internal bug" not in r.text
    job = client.get(f"{server.url}/jobs/{r.headers['x-job-id']}").json()
    assert job["state"] == "failed" and text in job["error"]
    assert client.get(f"{server.url}/jobs/{job['id']}/result").status_code == 410
    if status == 500:
        assert "RuntimeError: fake: an internal bug" in server.log()


def test_a_declared_length_over_the_limit_is_refused_before_the_body(server):
    t0 = time.monotonic()
    answer = raw_request(server.port, post_head("/upload-audio", 2 * 1024**3))
    assert answer.startswith(b"HTTP/1.1 413") and b"connection: close" in answer.lower()
    assert time.monotonic() - t0 < 5


def test_a_2gb_stream_is_stopped_at_the_limit(server):
    pulled = 0

    def body():
        nonlocal pulled
        for chunk in [part_head(), *([b"\0" * 2**20] * 2048)]:
            pulled += len(chunk)
            yield chunk

    try:
        r = httpx.post(server.url + "/upload-audio", content=body(), headers={"Content-Type": MULTIPART}, timeout=30)
        assert r.status_code == 413
    except httpx.TransportError:
        pass                                    # the server closed the connection after its 413
    assert pulled < 64 * 2**20, f"{pulled} bytes were sent"
    assert server.health().status_code == 200
    wait_for(lambda: _incoming(server) == [], what="the partial upload's removal")


def test_a_client_leaving_mid_upload_leaves_no_job_and_no_file(server):
    before = _jobs(server)
    body = multipart(wav_bytes(20.0))
    raw_request(server.port, post_head("/upload-audio", len(body)), body[:300_000], read=False)
    wait_for(lambda: "went away during the upload" in server.log(), what="the log line")
    assert _jobs(server) == before and _incoming(server) == []
    assert server.health().status_code == 200


def test_a_stalled_upload_is_refused_with_408(server):
    before = _jobs(server)
    body = multipart(wav_bytes(1.0))
    answer = raw_request(server.port, post_head("/upload-audio", len(body)), body[:10_000], timeout=10)
    assert answer.startswith(b"HTTP/1.1 408") and b"stalled" in answer
    assert _jobs(server) == before and _incoming(server) == []


def test_hostile_file_names_are_never_paths(server, client):
    name = b"../../evil\x00name\n.wav"
    r = client.post(server.url + "/upload-audio", content=multipart(wav_bytes(0.2), filename=name),
                    headers={"Content-Type": MULTIPART})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert r.headers["content-disposition"] == 'attachment; filename="evil_name_synced.mp4"'
    repo = Path(__file__).resolve().parents[2]
    for folder in (server.root, server.root.parent, server.results, repo, repo.parent):
        assert not [p for p in folder.iterdir() if p.name.startswith("evil")]
    for path in server.results.rglob("*"):
        assert path.name in ("jobs", "incoming", "job.json", "result.mp4") or path.name.startswith("input.") \
            or len(path.name) == 32, path


def test_unknown_and_malformed_job_ids_are_404(server, client):
    for job_id in ("0" * 32, "A" * 32, "abc", "..%2F..%2Fetc%2Fpasswd", "%00", "a" * 33):
        assert client.get(f"{server.url}/jobs/{job_id}").status_code == 404
        assert client.get(f"{server.url}/jobs/{job_id}/result").status_code == 404
        assert client.delete(f"{server.url}/jobs/{job_id}").status_code == 404


def test_a_download_cut_short_breaks_nothing(server, client):
    r = client.post(server.url + "/jobs", files={"file": ("long.wav", wav_bytes(25.0))})
    job_id = r.json()["id"]
    wait_job(client, server.url, job_id)
    with client.stream("GET", r.json()["result_url"]) as stream:
        next(stream.iter_raw(65536))
    full = client.get(r.json()["result_url"])
    assert full.status_code == 200 and len(full.content) == len(RESULT_MAGIC) + len(wav_bytes(25.0))
    assert server.health().status_code == 200
