"""`python -m talkingface probe|normalize` as a user runs them: subprocesses, exit codes, one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from talkingface.media import probe

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "talkingface", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def bad(tmp_path, make_video) -> dict[str, Path]:
    files = {"missing": tmp_path / "missing.mp4", "empty": tmp_path / "empty.mp4", "text": tmp_path / "text.mp4",
             "directory": tmp_path / "folder", "truncated": tmp_path / "truncated.mp4"}
    files["empty"].write_bytes(b"")
    files["text"].write_text("not a video\n")
    files["directory"].mkdir()
    good = make_video(frames=50, size=(64, 48), audio=True).read_bytes()
    files["truncated"].write_bytes(good[: len(good) // 2])
    return files


def test_probe_good_files(make_video):
    silent = make_video(frames=10, size=(64, 48))
    loud = make_video(frames=25, size=(32, 32), audio=True)
    out = run_cli("probe", silent, loud)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and out.stderr == ""
    assert "25.000 fps, 10 frames, 64x48, 0.400 s" in lines[0] and "audio no" in lines[0]
    assert "25 frames, 32x32, 1.000 s" in lines[1] and "audio yes" in lines[1]
    record = json.loads(run_cli("probe", "--json", silent).stdout)
    assert record["frame_count"] == 10 and record["has_audio"] is False


@pytest.mark.parametrize("case", ["missing", "empty", "text", "directory", "truncated"])
def test_probe_bad_file_one_line_no_traceback(bad, case):
    out = run_cli("probe", bad[case])
    assert out.returncode != 0
    assert "Traceback" not in out.stderr + out.stdout
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and str(bad[case]) in lines[0] and lines[0].startswith("error: ")


def test_probe_mixed_files_reports_each_and_fails(bad, make_video):
    good = make_video(frames=10, size=(64, 48))
    out = run_cli("probe", good, bad["text"], bad["missing"])
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert len(out.stdout.splitlines()) == 1 and str(good) in out.stdout
    assert len(out.stderr.splitlines()) == 2


def test_normalize_30fps_with_audio(tmp_path, make_video):
    src = make_video(frames=30, size=(64, 48), fps=30, audio=True)
    out = run_cli("normalize", src, tmp_path / "n.mp4")
    assert out.returncode == 0, out.stderr
    info = probe(tmp_path / "n.mp4")
    assert info.fps == 25.0 and info.has_audio and info.audio_codec == "aac"
    assert abs(info.duration - 1.0) <= 0.04
    again = run_cli("normalize", src, tmp_path / "n.mp4")  # refuses to overwrite without --overwrite
    assert again.returncode != 0 and "--overwrite" in again.stderr and "Traceback" not in again.stderr
    other = run_cli("normalize", "--fps", "20", "--overwrite", src, tmp_path / "n.mp4")
    assert other.returncode == 0, other.stderr
    assert probe(tmp_path / "n.mp4").fps == 20.0


@pytest.mark.parametrize("case", ["missing", "text", "truncated", "directory"])
def test_normalize_bad_input(tmp_path, bad, case):
    out = run_cli("normalize", bad[case], tmp_path / "out.mp4")
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert len(out.stderr.splitlines()) == 1 and str(bad[case]) in out.stderr
    assert not (tmp_path / "out.mp4").exists()


def test_help_texts():
    for command in ("probe", "normalize"):
        out = run_cli(command, "--help")
        assert out.returncode == 0 and "usage:" in out.stdout
    assert "--fps" in run_cli("normalize", "--help").stdout
