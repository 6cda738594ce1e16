"""evaluate_video on awkward inputs (clear result or one-line error), the CLI and the metric adapter."""
from __future__ import annotations

import json

import pytest
from _syncnet_helpers import ffmpeg, noise_wav

import syncnet
from syncnet.cli import main
from talkingface.errors import KitError, MediaError, WeightsError


def _mux(tmp_path, name, video_args, wav, extra=()):
    out = tmp_path / name
    ffmpeg(*video_args, "-i", wav, "-map", "0:v:0", "-map", "1:a:0", *extra, "-c:v", "libx264", "-pix_fmt",
           "yuv420p", "-c:a", "aac", out)
    return out


def _frames(seconds, rate=25, size=224):
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}x{size}:rate={rate}:duration={seconds}"]


def test_no_audio_stream(make_video, syncnet_weights):
    video = make_video(frames=10, size=(64, 64), audio=False)
    with pytest.raises(MediaError, match="no audio stream"):
        syncnet.evaluate_video(video, syncnet_weights)


def test_fewer_than_6_frames(make_video, model):
    video = make_video(frames=4, size=(64, 64), audio=True)
    with pytest.raises(MediaError, match="at least 6"):
        syncnet.evaluate_video(video, model)


def test_missing_and_wrong_weights(make_video, tmp_path):
    video = make_video(frames=10, size=(64, 64), audio=True)
    with pytest.raises(WeightsError, match="nope.model"):
        syncnet.evaluate_video(video, tmp_path / "nope.model")
    with pytest.raises(KitError, match="unknown LSE mode"):
        syncnet.evaluate_video(video, tmp_path / "nope.model", mode="lips")


def test_not_a_video(tmp_path, model):
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(MediaError, match="x.mp4"):
        syncnet.evaluate_video(bad, model)


@pytest.mark.slow
def test_short_audio_silent_audio_and_30fps(tmp_path, model):
    # audio 0.4 s under a 0.8 s video: the shorter stream decides, and it is noted
    short = _mux(tmp_path, "short.mp4", _frames(0.8), noise_wav(tmp_path / "n.wav", 0.4))
    r = syncnet.evaluate_video(short, model)
    assert r.frames == 10 - 5 and any("shorter than the video" in n for n in r.notes)
    # silent audio: scored, noted
    silent = _mux(tmp_path, "silent.mp4", _frames(0.4), noise_wav(tmp_path / "z.wav", 0.4, amplitude=0.0))
    r = syncnet.evaluate_video(silent, model)
    assert r.frames == 5 and any("silent" in n for n in r.notes)
    assert r.lse_d == r.lse_d  # not NaN
    # 30 fps input is re-timed to 25 fps first
    fast = _mux(tmp_path, "fps30.mp4", _frames(0.4, rate=30), noise_wav(tmp_path / "m.wav", 0.4))
    r = syncnet.evaluate_video(fast, model)
    assert any("re-timed from 30.000 fps" in n for n in r.notes)
    assert r.frames == 10 - 5 and r.reference and r.mode == "whole-frame" and r.ffmpeg


@pytest.mark.slow
def test_cli_score_json_and_metric(tmp_path, tone_clip, make_video, syncnet_weights, capsys):
    no_audio = make_video(frames=10, size=(64, 64), audio=False)
    out = tmp_path / "res.json"
    code = main(["score", str(tone_clip), str(no_audio), "--weights", str(syncnet_weights), "--json", str(out),
                 "--batch_size", "8"])
    assert code == 1   # one video failed
    text = capsys.readouterr().out
    assert "mean of 1 videos" in text and "no audio stream" in text
    doc = json.loads(out.read_text())
    assert doc["n"] == 1 and doc["n_failed"] == 1 and doc["ffmpeg"]
    row = doc["videos"][0]
    assert len(row["distances"]) == 31 and row["frames"] == 19
    assert doc["mean"]["lse_d"] == pytest.approx(row["lse_d"])

    from syncnet.metric import LSEMetric

    values = LSEMetric(weights=syncnet_weights).video(tone_clip)
    assert set(values) >= {"lse_c", "lse_d", "offset", "frames", "mode", "reference"}
    assert values["lse_d"] == pytest.approx(row["lse_d"], abs=1e-5) and values["offset"] == row["offset"]


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["score", "x.mp4", "--weights", str(tmp_path / "missing.model")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "missing.model" in err and len(err.strip().splitlines()) == 1
    assert main(["score", "x.mp4", "--batch_size", "0"]) == 2


def test_selftest_without_what_it_needs_fails_with_the_reason(tmp_path, syncnet_weights, capsys, monkeypatch):
    """A selftest with nothing to test against is not a pass: non-zero exit, one line naming what is missing."""
    monkeypatch.setenv("TALKINGFACE_CHECKPOINTS", str(tmp_path / "empty"))
    assert main(["selftest", str(tmp_path / "example.avi")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "weights missing" in err[0] and "weights fetch syncnet_v2" in err[0]
    assert main(["selftest", str(tmp_path / "example.avi"), "--weights", str(syncnet_weights)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "example.avi: not found" in err[0]


def test_metric_without_weights_raises_weights_error(tmp_path, monkeypatch):
    from syncnet.metric import LSEMetric

    monkeypatch.setenv("TALKINGFACE_CHECKPOINTS", str(tmp_path / "empty"))
    with pytest.raises(WeightsError, match="weights missing"):
        LSEMetric()
