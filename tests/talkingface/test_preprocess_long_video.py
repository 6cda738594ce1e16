"""A 2-hour video in `python -m dagan.preprocess` and `python -m lawdnet.preprocess`: ``--max_minutes`` skips it with
its duration and the reason while the other videos finish (and a rerun still skips it, redoing nothing); without a
limit it is streamed to the end. The 2-hour input is real (7200 s, the kit's sample face as a still image with a
looped tone) but cheap: 128x128 at 0.25 fps, made by ffmpeg in about a second."""
from __future__ import annotations

import json
import shutil
import subprocess
import wave
from pathlib import Path

import cv2
import pytest

from talkingface.media import VideoReader, ffmpeg_exe, probe
from talkingface.preprocess import TOO_LONG, clock

HOURS_2 = 7200
REASON = "2:00:00 long, over --max_minutes 60"


@pytest.fixture(scope="module")
def raw(make_video, tmp_path_factory) -> Path:
    """``long/two_hours.mp4`` (2 h, 0.25 fps, 1800 frames, a face, a tone) and ``short/talk.mp4`` (30 frames)."""
    work = tmp_path_factory.mktemp("long_video")
    face = next(iter(VideoReader(make_video.talking_head(frames=1))))
    cv2.imwrite(str(work / "face.png"), cv2.resize(face, (128, 128), interpolation=cv2.INTER_AREA)[..., ::-1])
    ff = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-nostdin", "-y"]
    subprocess.run([*ff, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=10", "-c:a", "aac",
                    "-b:a", "16k", str(work / "tone.m4a")], check=True)
    root = work / "raw"
    (root / "long").mkdir(parents=True)
    (root / "short").mkdir()
    subprocess.run([*ff, "-loop", "1", "-framerate", "0.25", "-i", str(work / "face.png"), "-stream_loop", "-1",
                    "-i", str(work / "tone.m4a"), "-map", "0:v", "-map", "1:a", "-t", str(HOURS_2), "-c:v", "libx264",
                    "-preset", "ultrafast", "-tune", "stillimage", "-pix_fmt", "yuv420p", "-c:a", "copy",
                    str(root / "long" / "two_hours.mp4")], check=True)
    shutil.copy(make_video.talking_head(frames=30, audio=True), root / "short" / "talk.mp4")
    return root


def _report(out: Path) -> dict:
    return json.loads((out / "preprocess_report.json").read_text())


def _files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def test_the_input_is_two_hours_long(raw):
    info = probe(raw / "long" / "two_hours.mp4")
    assert info.duration == pytest.approx(HOURS_2, abs=5) and info.frame_count == HOURS_2 // 4 and info.has_audio
    assert clock(info.duration) == "2:00:00" and clock(59.6) == "0:01:00" and clock(3725) == "1:02:05"


def test_dagan_skips_it_over_max_minutes_and_finishes_the_rest(raw, tmp_path):
    from dagan.cli.preprocess import main

    out = tmp_path / "vox"
    argv = ["--input_dir", str(raw), "--output_dir", str(out), "--landmarks", "offline", "--no_progress",
            "--min_frames", "8", "--max_minutes", "60"]
    assert main(argv) == 0                                   # skipped is not a failure
    report = _report(out)
    long, short = report["videos"]["long#two_hours"], report["videos"]["short#talk"]
    assert long["status"] == TOO_LONG == "skipped" and long["reason"] == REASON
    assert long["duration"] == pytest.approx(HOURS_2, abs=5) and "outputs" not in long
    assert short["status"] == "done" and short["duration"] == pytest.approx(1.2) and short["tracks_kept"] == 1
    assert report["counts"] == {"videos": 2, "done": 1, "done earlier": 0, "failed": 0, "skipped": 1}
    assert report["settings"]["max_minutes"] == 60
    files = _files(out)
    assert not any("two_hours" in f for f in files) and not (out / ".partial").exists()
    assert main(argv) == 0                                   # rerun: the short one not redone, the long one skipped
    again = _report(out)["videos"]
    assert again["short#talk"]["status"] == "done earlier" and again["long#two_hours"]["reason"] == REASON
    assert _files(out) == files


def test_lawdnet_skips_it_in_every_step_and_leaves_it_out_of_the_json(raw, tmp_path):
    from lawdnet.cli.preprocess import main

    out = tmp_path / "training_data"
    argv = ["--input_dir", str(raw), "--output_dir", str(out), "--landmarks", "offline", "--no_progress",
            "--extract_video_frame", "--extract_audio", "--extract_deep_speech", "--features", "dp2",
            "--random_model", "0", "--crop_face", "--generate_training_json", "--min_clips", "1",
            "--max_minutes", "60"]
    assert main(argv) == 0
    report = _report(out)
    long, short = report["videos"]["long#two_hours"], report["videos"]["short#talk"]
    assert long["status"] == "skipped" and long["reason"] == REASON and report["skipped"] == {"long#two_hours": REASON}
    assert long["duration"] == pytest.approx(HOURS_2, abs=5)
    assert {s: r["status"] for s, r in long["steps"].items()} == dict.fromkeys(("frames", "audio", "dp2", "crops"),
                                                                             "skipped")
    assert short["status"] == "done" and short["duration"] == pytest.approx(1.2)
    assert set(short["steps"]) == {"frames", "audio", "dp2", "crops"}
    assert report["counts"]["skipped"] == 1 and report["counts"]["failed"] == 0 and report["failed"] == {}
    assert report["training_json"]["videos"] == 1 and report["training_json"]["left_out"] == {}
    files = _files(out)
    assert not any("two_hours" in f for f in files) and not (out / ".partial").exists()
    assert main(argv) == 0                                   # rerun: nothing redone, the long one skipped again
    again = _report(out)
    assert all(r["status"] == "done earlier" for r in again["videos"]["short#talk"]["steps"].values())
    assert again["skipped"] == {"long#two_hours": REASON}
    assert _files(out) == files


def test_lawdnet_streams_its_audio_without_a_limit(raw, tmp_path):
    from lawdnet.cli.preprocess import main

    out = tmp_path / "training_data"
    assert main(["--input_dir", str(raw / "long"), "--output_dir", str(out), "--no_progress", "--extract_audio"]) == 0
    video = _report(out)["videos"]["two_hours"]
    assert video["status"] == "done" and video["duration"] == pytest.approx(HOURS_2, abs=5)
    audio = video["steps"]["audio"]
    assert audio["audio_seconds"] == pytest.approx(HOURS_2, abs=15) and audio["audio_samples"] > 16000 * 7100
    assert not audio["silent"]
    wav = out / "split_video_25fps_audio" / "two_hours.wav"
    with wave.open(str(wav), "rb") as fh:
        assert fh.getnframes() == audio["audio_samples"] and fh.getframerate() == 16000


def test_bad_max_minutes_is_a_one_line_error(raw, tmp_path, capsys):
    from dagan.cli.preprocess import main as dagan_main
    from lawdnet.cli.preprocess import main as lawdnet_main

    assert dagan_main(["--input_dir", str(raw), "--output_dir", str(tmp_path / "a"), "--max_minutes", "0"]) == 2
    assert lawdnet_main(["--input_dir", str(raw), "--output_dir", str(tmp_path / "b"), "--extract_audio",
                         "--max_minutes", "-5"]) == 2
    err = capsys.readouterr().err
    assert "--max_minutes must be > 0, got 0" in err and "--max_minutes must be > 0, got -5" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_dagan_streams_all_two_hours_without_a_limit(raw, tmp_path):
    """1800 frames decoded twice, faces looked for in every 10th (--detect_every, for long videos): about 7 s."""
    from dagan.cli.preprocess import main

    out = tmp_path / "vox"
    assert main(["--input_dir", str(raw / "long"), "--output_dir", str(out), "--landmarks", "offline",
                 "--no_progress", "--size", "64", "--detect_every", "10"]) == 0
    video = _report(out)["videos"]["two_hours"]
    assert video["status"] == "done" and video["frames"] == HOURS_2 // 4
    assert video["duration"] == pytest.approx(HOURS_2, abs=5) and video["tracks_kept"] == 1
    (clip,) = video["clips"]
    assert (clip["start"], clip["end"]) == (0, HOURS_2 // 4 - 1)
    written = probe(out / video["outputs"][0])
    assert written.frame_count == HOURS_2 // 4 and written.duration == pytest.approx(HOURS_2, abs=5)
