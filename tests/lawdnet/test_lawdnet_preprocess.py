"""`python -m lawdnet.preprocess`: steps alone and together, resume, shards, bad videos, OpenFace CSVs, the JSON."""
from __future__ import annotations

import csv
import importlib.util
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from lawdnet.cli.preprocess import main
from lawdnet.features import align_rows
from tests.lawdnet._feature_fixtures import GRAPH

ALL_STEPS = ["--extract_video_frame", "--extract_audio", "--extract_deep_speech", "--crop_face",
             "--generate_training_json"]
CLIP_KEYS = {"frame_name_list", "frame_path_list", "deep_speech_list", "deep_speech_dp2_list"}


def run(*args: str) -> int:
    return main([*map(str, args), "--landmarks", "offline", "--random_model", "7", "--no_progress",
                 "--device", "cpu"])


def load(out: Path, name: str = "preprocess_report.json") -> dict:
    return json.loads((out / name).read_text())


@pytest.fixture(scope="module")
def raw(make_video, tmp_path_factory) -> Path:
    """head.mp4 (60 frames, speech, a face) and noface.mp4 (colour waves with a tone, no face)."""
    folder = tmp_path_factory.mktemp("raw")
    shutil.copy(make_video.talking_head(frames=60, audio=True), folder / "head.mp4")
    shutil.copy(make_video(frames=20, size=(64, 48), fps=25, audio=True), folder / "noface.mp4")
    return folder


@pytest.fixture(scope="module")
def full(raw, tmp_path_factory) -> Path:
    """Every step in one run: dp1 by the tiny graph, dp2 by the tiny random network, 832x640 crops."""
    out = tmp_path_factory.mktemp("full")
    assert run("--input_dir", raw, "--output_dir", out, *ALL_STEPS, "--deepspeech_model_path", GRAPH) == 0
    return out


def check_training_json(data: dict, keys: set[str] = CLIP_KEYS, size=(832, 640)) -> int:
    """What the authors' dataset_DINet_frame/clip read: per video video_clip_num and clip_data_list; per clip 9
    frame paths that open (at ``size``), names video/clip/frame.jpg, 9 rows of 29 per feature list."""
    clips = 0
    for video, entry in data.items():
        assert set(entry) == {"video_clip_num", "clip_data_list"}
        assert entry["video_clip_num"] == len(entry["clip_data_list"]) >= 6
        for clip in entry["clip_data_list"]:
            assert set(clip) == keys
            clip_name = Path(clip["frame_path_list"][0]).parent.name
            start = int(clip_name) * 9
            assert clip["frame_name_list"] == [f"{video}/{clip_name}/{i:06d}.jpg" for i in range(start, start + 9)]
            assert [Path(p).name for p in clip["frame_path_list"]] == [Path(n).name for n in clip["frame_name_list"]]
            for key in keys - {"frame_name_list", "frame_path_list"}:
                assert np.asarray(clip[key]).shape == (9, 29)
            for path in clip["frame_path_list"][::4]:
                assert cv2.imread(path).shape == (*size, 3)
            clips += 1
    return clips


def test_all_steps_authors_layout_json_and_report(full):
    frames = sorted((full / "split_video_25fps_frame" / "head").glob("*.jpg"))
    assert [p.name for p in frames] == [f"{i:06d}.jpg" for i in range(60)]
    from scipy.io import wavfile

    rate, samples = wavfile.read(full / "split_video_25fps_audio" / "head.wav")
    assert rate == 16000 and samples.ndim == 1 and samples.dtype == np.int16
    dp1 = np.loadtxt(full / "split_video_25fps_deepspeech" / "head_deepspeech.txt")
    dp2 = np.loadtxt(full / "split_video_25fps_deepspeech_2" / "head_deepspeech_dp2.txt")
    assert dp1.shape == (60, 29) and dp2.shape == (61, 29)              # dp2 always makes one row more
    clips = sorted(p.name for p in (full / "split_video_25fps_crop_face" / "head").iterdir())
    assert clips == [f"{k:06d}" for k in range(6)]                       # 60 frames: 6 whole clips, 6 left over
    data = json.loads((full / "training_json" / "training_json.json").read_text())
    assert list(data) == ["head"]
    assert check_training_json(data) == 6
    clip = data["head"]["clip_data_list"][2]
    assert np.allclose(clip["deep_speech_dp2_list"], align_rows(dp2, 60)[18:27])
    assert np.allclose(clip["deep_speech_list"], dp1[18:27])

    report = load(full)
    assert report["counts"]["videos"] == 2 and list(report["failed"]) == ["noface"]
    assert "no face" in report["failed"]["noface"]["crops"]
    assert report["length_mismatches"]["head"]["dp2_fix"] == "cut the last 1 row(s)"
    assert "noface" in report["training_json"]["left_out"]
    steps = report["videos"]["head"]["steps"]
    assert steps["frames"]["frames"] == 60 and steps["frames"]["dropped_by_retiming"] == 0
    assert steps["audio"]["audio_seconds"] == pytest.approx(2.4, abs=0.05)
    assert steps["crops"]["clips_kept"] == 6 and steps["crops"]["faces_not_found"] >= 0
    assert "RANDOM" in report["settings"]["models"]["dp2"]
    assert not (full / ".partial").exists()


def test_rerun_skips_finished_steps_and_retries_failures(full, raw):
    before = (full / "training_json" / "training_json.json").read_text()
    stamp = (full / "split_video_25fps_crop_face" / "head" / "000000" / "000000.jpg").stat().st_mtime_ns
    assert run("--input_dir", raw, "--output_dir", full, *ALL_STEPS, "--deepspeech_model_path", GRAPH) == 0
    report = load(full)
    assert all(r["status"] == "done earlier" for r in report["videos"]["head"]["steps"].values())
    assert report["videos"]["noface"]["steps"]["crops"]["status"] == "failed"      # no marker: tried again
    assert (full / "split_video_25fps_crop_face" / "head" / "000000" / "000000.jpg").stat().st_mtime_ns == stamp
    assert (full / "training_json" / "training_json.json").read_text() == before


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="dp1 needs the tf extra")
def test_random_model_without_a_graph_gives_a_random_dp1_graph(full, raw, tmp_path):
    """--random_model and no --deepspeech_model_path: dp1 from a tiny random graph of v0.1.0's interface (smoke runs,
    so that the JSON has deep_speech_list and the clip stage can train), labelled RANDOM in the report."""
    from lawdnet.features import Dp1Extractor, load_dp1_signal

    out = tmp_path / "out"
    assert run("--input_dir", raw, "--output_dir", out, "--extract_audio", "--extract_deep_speech",
               "--features", "dp1") == 0
    report = load(out)
    assert report["settings"]["models"]["dp1"] == "RANDOM WEIGHTS: tiny random dp1 graph (seed 7)"
    rows = np.loadtxt(out / "split_video_25fps_deepspeech" / "head_deepspeech.txt")
    extractor = Dp1Extractor.random(7)
    try:
        want = extractor(load_dp1_signal(out / "split_video_25fps_audio" / "head.wav"))
    finally:
        extractor.close()
    assert rows.shape == (60, 29) and np.array_equal(rows, want.astype(np.float64))
    golden_graph = np.loadtxt(full / "split_video_25fps_deepspeech" / "head_deepspeech.txt")
    assert not np.allclose(rows, golden_graph)                          # not the graph file of the other run


def test_steps_one_by_one_dp2_only_with_longer_audio(make_video, tmp_path):
    """Each step alone, reading what the earlier ones wrote; audio 0.48 s longer than the video: the extra rows are
    cut by align_rows and listed; a step whose input is missing fails with the step to run."""
    from talkingface.media.ffmpeg import run_ffmpeg

    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    short, long = make_video.talking_head(frames=54, audio=True), make_video.talking_head(frames=66, audio=True)
    run_ffmpeg(["-y", "-i", short, "-i", long, "-map", "0:v:0", "-map", "1:a:0", "-c", "copy",
                raw / "longaudio.mp4"], "mux")
    common = ["--input_dir", raw, "--output_dir", out, "--crop_width", "160", "--features", "dp2"]
    assert run(*common, "--crop_face") == 0
    assert "run --extract_video_frame first" in load(out)["failed"]["longaudio"]["crops"]
    assert run(*common, "--extract_deep_speech") == 0
    assert "run --extract_audio first" in load(out)["failed"]["longaudio"]["dp2"]
    for step in ALL_STEPS:
        assert run(*common, step) == 0
    report = load(out)
    assert report["failed"] == {}
    assert report["length_mismatches"]["longaudio"] == {"frames": 54, "dp2_rows": 67, "dp2_fix":
                                                        "cut the last 13 row(s)"}
    assert report["training_json"]["length_mismatches"]["longaudio"]["dp2_rows"] == 67
    data = json.loads((out / "training_json" / "training_json.json").read_text())
    assert check_training_json(data, CLIP_KEYS - {"deep_speech_list"}, size=(208, 160)) == 6
    assert not (out / "split_video_25fps_deepspeech").exists()


def _openface_csv(rows: list[list[str]], header: list[str], path: Path) -> Path:
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def test_openface_csv_rows_must_match_frames(full, raw, tmp_path):
    """The landmarks the crop step wrote (OpenFace columns) drive the crops; a CSV with a missing or an extra row
    fails that video alone with the reason."""
    raw2, faces, out = tmp_path / "raw", tmp_path / "openface", tmp_path / "out"
    raw2.mkdir(), faces.mkdir()
    with (full / "split_video_25fps_landmark_openface" / "head.csv").open() as fh:
        header, *rows = list(csv.reader(fh))
    assert header[:5] == ["frame", "face_id", "timestamp", "confidence", "success"] and header[5] == "x_0"
    assert header[73] == "y_0" and len(rows) == 60
    for name, table in {"good": rows, "missing": rows[:4] + rows[5:],
                        "extra": rows + [[str(61), *rows[-1][1:]]]}.items():
        shutil.copy(raw / "head.mp4", raw2 / f"{name}.mp4")
        _openface_csv(table, header, faces / f"{name}.csv")
    args = ("--input_dir", raw2, "--output_dir", out, "--extract_video_frame", "--crop_face", "--openface_dir", faces,
            "--crop_width", 160, "--no_progress", "--device", "cpu")
    assert main([str(a) for a in args]) == 0
    report = load(out)
    assert sorted(report["failed"]) == ["extra", "missing"]
    assert "59 landmark rows for 60 frames" in report["failed"]["missing"]["crops"]
    assert "no row for frame 5" in report["failed"]["missing"]["crops"]
    assert "past the last frame" in report["failed"]["extra"]["crops"]
    good = report["videos"]["good"]["steps"]["crops"]
    assert good["landmarks"] == "openface-csv" and good["clips_kept"] == 6
    assert not (out / "split_video_25fps_crop_face" / "missing").exists()


def test_30fps_input_is_retimed_and_shards_split_the_videos(raw, tmp_path):
    from talkingface.media import to_constant_fps

    raw2, out = tmp_path / "raw", tmp_path / "out"
    raw2.mkdir()
    to_constant_fps(raw / "head.mp4", raw2 / "head30.mp4", 30, preset="ultrafast")
    shutil.copy(raw / "noface.mp4", raw2 / "noface.mp4")
    for shard in ("0/2", "1/2"):
        assert run("--input_dir", raw2, "--output_dir", out, "--extract_video_frame", "--shard", shard,
                   "--workers", "2") == 0
    reports = [load(out, f"preprocess_report.shard-{i}-of-2.json") for i in range(2)]
    assert sorted(v for r in reports for v in r["videos"]) == ["head30", "noface"]
    assert all(len(r["videos"]) == 1 for r in reports)
    stats = next(r for r in reports if "head30" in r["videos"])["videos"]["head30"]["steps"]["frames"]
    assert stats["fps_in"] == pytest.approx(30) and stats["fps_out"] == 25
    assert stats["frames_in"] == 72 and stats["frames"] == 60 and stats["dropped_by_retiming"] == 12
    assert len(list((out / "split_video_25fps_frame" / "head30").glob("*.jpg"))) == 60


def test_bad_flags_are_one_line_errors(tmp_path, capsys):
    assert main(["--output_dir", str(tmp_path)]) == 2
    assert "choose at least one step" in capsys.readouterr().err
    assert main(["--extract_video_frame", "--output_dir", str(tmp_path)]) == 2
    assert "--input_dir" in capsys.readouterr().err
    assert main(["--generate_training_json", "--features", "dp3", "--output_dir", str(tmp_path)]) == 2
    assert "--features" in capsys.readouterr().err
    assert main(["--crop_face", "--input_dir", str(tmp_path), "--landmarks", "openface-csv"]) == 2
    assert "--openface_dir" in capsys.readouterr().err


def test_broken_videos_fail_alone_with_a_reason(make_wav, tmp_path):
    from talkingface.media.ffmpeg import run_ffmpeg

    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    (raw / "empty.mp4").write_bytes(b"")
    (raw / "junk.mp4").write_bytes(b"not a video" * 100)
    run_ffmpeg(["-y", "-i", make_wav(seconds=0.5), "-c:a", "aac", raw / "audio_only.mp4"], "audio only")
    assert run("--input_dir", raw, "--output_dir", out, "--extract_video_frame", "--extract_audio") == 0
    failed = load(out)["failed"]
    assert sorted(failed) == ["audio_only", "empty", "junk"]
    assert "no video stream" in failed["audio_only"]["frames"] and "audio" not in failed["audio_only"]
    assert all("\n" not in reason for steps in failed.values() for reason in steps.values())
    assert not (out / "split_video_25fps_frame").exists() and not list((out / ".done" / "frames").glob("*"))


def test_training_json_is_written_clip_by_clip_as_json_dumps_writes_it(full):
    """The JSON is streamed a clip entry at a time: its text is json.dumps' own of the same data (default
    separators, key order video_clip_num then clip_data_list, floats as repr)."""
    text = (full / "training_json" / "training_json.json").read_text()
    data = json.loads(text)
    assert json.dumps(data) == text and list(data["head"]) == ["video_clip_num", "clip_data_list"]
    assert data["head"]["video_clip_num"] == len(data["head"]["clip_data_list"]) >= 6
