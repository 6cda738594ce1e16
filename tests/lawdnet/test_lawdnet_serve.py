"""`python -m lawdnet.serve` live on 127.0.0.1: the authors' client request, /health, a job, flag errors.

The server runs the seeded random generator at mouth 64 with the tiny random dp2 network on a short template; the
authors' ``client_LawDNet.py`` (requests, ``files={'file': open(path, 'rb')}``) gets an mp4 that is what
`python -m lawdnet.infer` writes for the same template and audio, decoded frame by frame. The generic service
(limits, queue, restarts, signals) has its own tests in tests/serving with a stand-in processor.
"""
from __future__ import annotations

import time

import httpx
import numpy as np
import pytest
import requests
from live_server import start_server

from lawdnet.cli.infer import main as infer_main
from lawdnet.cli.serve import main as serve_main
from talkingface.media import VideoReader, probe

pytestmark = pytest.mark.slow
FRAMES = 8        # of the request's audio: the lipsync_speech fixture (tests/lawdnet/conftest.py)
# the seeded random generator at mouth 64 and the tiny random dp2 network, as the service under test runs them
RANDOM_MOUTH_64 = ["--random_model", "0", "--mouthsize", "64", "--landmarks", "offline", "--batch_size", "4",
                   "--device", "cpu"]


@pytest.fixture(scope="module")
def server(lipsync_template, tmp_path_factory):
    work = tmp_path_factory.mktemp("lawdnet_serve")
    args = ["--template", str(lipsync_template), *RANDOM_MOUTH_64, "--results_dir", str(work / "results"),
            "--template_cache", str(work / "cache")]
    with start_server("lawdnet.serve", args, ready_timeout=240, log_dir=work) as srv:
        yield srv


def send_audio_file(url, audio_file_path, out):
    """The authors' Exp-of-Junli/client_LawDNet.py, its URL and output file as arguments."""
    files = {'file': open(audio_file_path, 'rb')}  # noqa: SIM115 - their code, as written
    response = requests.post(url, files=files)
    if response.status_code == 200:
        with open(out, "wb") as f:
            f.write(response.content)
    return response


def test_the_authors_client_gets_what_the_inference_cli_writes(server, lipsync_template, lipsync_speech, tmp_path):
    got = tmp_path / "output_video.mp4"
    response = send_audio_file(f"http://localhost:{server.port}/upload-audio", lipsync_speech, got)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    info = probe(got)
    assert info.has_audio and info.frame_count == FRAMES and round(info.fps) == 25

    want = tmp_path / "cli.mp4"
    assert infer_main(["--video_path", str(lipsync_template), "--audio_path", str(lipsync_speech),
                       "--output", str(want), *RANDOM_MOUTH_64, "--no_cache", "--no_progress"]) == 0
    np.testing.assert_array_equal(np.stack(list(VideoReader(got))), np.stack(list(VideoReader(want))))


def test_health_describes_the_loaded_model(server):
    health = httpx.get(server.url + "/health").json()
    assert health["status"] in ("ready", "busy")
    p = health["processor"]
    assert (p["model"], p["mouth"], p["features"], p["template"]["frames"]) == ("lawdnet", 64, "dp2", 16)
    assert p["weights"]["random"] is True


def test_job_api_round_trip_and_silent_audio(server, lipsync_speech, tmp_path):
    with open(lipsync_speech, "rb") as f:
        r = httpx.post(server.url + "/jobs", files={"file": ("speech.mp4", f, "application/octet-stream")})
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    deadline = time.monotonic() + 120
    while (state := httpx.get(f"{server.url}/jobs/{job}").json())["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    assert state["state"] == "done" and state["progress"] == 1, state
    result = httpx.get(f"{server.url}/jobs/{job}/result")
    assert result.status_code == 200 and len(result.content) == state["result_bytes"]

    silent = tmp_path / "silent.wav"
    import wave

    with wave.open(str(silent), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(4000, np.int16).tobytes())
    r = httpx.post(server.url + "/upload-audio", files={"file": ("silent.wav", silent.read_bytes())})
    assert r.status_code == 422 and "silent" in r.text and "results" not in r.text, r.text


def test_bad_flags_are_one_line_before_anything_loads(lipsync_template, tmp_path, capsys):
    assert serve_main(["--template", str(tmp_path / "missing.mp4"), "--random_model", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "missing.mp4" in err and len(err.splitlines()) == 1
    assert serve_main(["--template", str(lipsync_template), "--random_model", "0", "--port", "0"]) == 2
    assert "--port" in capsys.readouterr().err
