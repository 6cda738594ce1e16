"""lawdnet.service.LipSyncProcessor, the LawDNet side of `python -m lawdnet.serve`, in process.

Its answers must be what `python -m lawdnet.infer` writes for the same template and audio (the inference itself is
checked against the authors' code elsewhere): here with the seeded random generator at mouth 64 and the tiny
random dp2 network, decoded frame by frame. Also: progress reaches 1, a cancelled job leaves no file, silent audio
is refused before queueing with a line that does not show the server's paths.
"""
from __future__ import annotations

import wave

import numpy as np
import pytest

from lawdnet.cli.infer import main as infer_main
from lawdnet.service import LipSyncProcessor, LipSyncServiceConfig
from talkingface.errors import MediaError
from talkingface.media import VideoReader, probe
from talkingface.serving import JobCancelled, Processor

FRAMES = 8        # of the request's audio: the lipsync_speech fixture (tests/lawdnet/conftest.py)
# the seeded random generator at mouth 64 and the tiny random dp2 network, as the service under test runs them
RANDOM_MOUTH_64 = ["--random_model", "0", "--mouthsize", "64", "--landmarks", "offline", "--batch_size", "4",
                   "--device", "cpu"]


@pytest.fixture(scope="module")
def processor(lipsync_template, tmp_path_factory):
    cfg = LipSyncServiceConfig(template=lipsync_template, mouth=64, random_seed=0, landmarks="offline", batch_size=4,
                               cache_dir=tmp_path_factory.mktemp("template_cache"))
    p = LipSyncProcessor(cfg)
    p.load()
    yield p
    p.close()


def frames_of(path):
    return np.stack(list(VideoReader(path)))


def test_is_a_serving_processor_and_describes_itself(processor):
    assert isinstance(processor, Processor)
    d = processor.describe()
    assert (d["model"], d["mouth"], d["features"], d["fps"]) == ("lawdnet", 64, "dp2", 25)
    assert d["weights"]["random"] is True and "RANDOM WEIGHTS" in d["weights"]["label"]
    assert d["template"]["frames"] == 16 and "/" not in d["template"]["video"]


def test_answer_equals_the_inference_cli(processor, lipsync_template, lipsync_speech, tmp_path):
    seen: list[float] = []
    out = tmp_path / "service.mp4"
    summary = processor.process(lipsync_speech, out, seen.append)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    assert summary["frames"] == FRAMES and summary["fps"] == 25 and "RANDOM WEIGHTS" in summary["weights"]
    info = probe(out)
    assert info.has_audio and info.frame_count == FRAMES

    cli_out = tmp_path / "cli.mp4"
    assert infer_main(["--video_path", str(lipsync_template), "--audio_path", str(lipsync_speech),
                       "--output", str(cli_out), *RANDOM_MOUTH_64, "--no_cache", "--no_progress"]) == 0
    np.testing.assert_array_equal(frames_of(out), frames_of(cli_out))


def test_a_cancelled_job_leaves_no_file(processor, lipsync_speech, tmp_path):
    out = tmp_path / "cancelled.mp4"

    def progress(fraction):
        if fraction > 0:
            raise JobCancelled("cancelled by the client")

    with pytest.raises(JobCancelled):
        processor.process(lipsync_speech, out, progress)
    assert list(tmp_path.iterdir()) == []


def test_silent_audio_is_refused_without_the_server_path(processor, tmp_path):
    silent = tmp_path / "jobs" / "abc" / "input.wav"
    silent.parent.mkdir(parents=True)
    with wave.open(str(silent), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(8000, np.int16).tobytes())
    with pytest.raises(MediaError) as err:
        processor.validate(silent)
    assert "silent" in str(err.value) and str(tmp_path) not in str(err.value)
