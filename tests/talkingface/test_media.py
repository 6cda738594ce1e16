"""talkingface.media: real ffmpeg/PyAV round trips on tiny synthetic videos (tests/conftest.py:make_video)."""
from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from talkingface.errors import MediaError
from talkingface.media import (
    VideoReader,
    VideoWriter,
    extract_audio,
    ffmpeg_exe,
    ffmpeg_version,
    media_versions,
    probe,
    read_audio,
    to_constant_fps,
)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if "partial" in p.name)


def dominant_hz(samples: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.argmax(spectrum) * sample_rate / len(samples))


# -- reading and writing -------------------------------------------------------------------------------------------
def test_round_trip_metadata_and_pixels(make_video):
    path = make_video(frames=12, size=(64, 48), fps=25)
    with VideoReader(path) as reader:
        assert (reader.fps, reader.frame_count, reader.size, reader.has_audio) == (25.0, 12, (64, 48), False)
        assert reader.duration == pytest.approx(12 / 25, abs=1e-3)
        frames = list(reader)
    assert len(frames) == 12
    for i, frame in enumerate(frames):
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8
        assert psnr(frame, make_video.frame(i, 64, 48)) > 30
    # frames differ from each other: the content moves, so a reader returning frame 0 repeatedly would fail
    assert psnr(frames[0], frames[6]) < 25


def test_frame_count_exact_and_iteration_repeatable(make_video):
    path = make_video(frames=37, size=(32, 32), fps=25)
    reader = VideoReader(path)
    assert probe(path).frame_count == 37 == len(reader)
    first = [f for _, f in zip(range(3), reader, strict=False)]  # stop early: the generator is closed, not leaked
    again = list(reader)
    assert len(again) == 37
    np.testing.assert_array_equal(first[2], again[2])
    reader.close()


def test_chunks(make_video):
    path = make_video(frames=10, size=(32, 24))
    reader = VideoReader(path)
    chunks = list(reader.chunks(4))
    assert [c.shape for c in chunks] == [(4, 24, 32, 3), (4, 24, 32, 3), (2, 24, 32, 3)]
    np.testing.assert_array_equal(np.concatenate(chunks), np.stack(list(reader)))
    assert [len(c) for c in reader.chunks(10)] == [10]
    assert [len(c) for c in reader.chunks(64)] == [10]
    with pytest.raises(ValueError):
        next(reader.chunks(0))


def test_odd_size_is_padded_by_repeating_edge(tmp_path, make_video):
    path = tmp_path / "odd.mp4"
    frames = [make_video.frame(i, 65, 47) for i in range(5)]
    with VideoWriter(path, 25) as writer:
        writer.write(np.stack(frames))
    reader = VideoReader(path)
    assert reader.size == (66, 48) and reader.frame_count == 5
    for i, got in enumerate(reader):
        assert psnr(got[:47, :65], frames[i]) > 30
        # the added column/row repeat the last ones (not black)
        assert np.abs(got[:47, 65].astype(int) - got[:47, 64]).mean() < 4
        assert np.abs(got[47, :65].astype(int) - got[46, :65]).mean() < 4


def test_writer_accepts_floats_single_frames_and_batches(tmp_path, make_video):
    ref = np.stack([make_video.frame(i, 32, 32) for i in range(6)])
    path = tmp_path / "mixed.mp4"
    with VideoWriter(path, 25) as writer:
        writer.write(ref[0])  # single uint8
        writer.write(ref[1:3].astype(np.float32) / 255)  # float batch
        writer.write(ref[3].astype(np.float64) / 255)  # single float
        writer.write(ref[4:])
        assert writer.frame_count == 6
        with pytest.raises(ValueError, match="differs"):
            writer.write(np.zeros((16, 16, 3), np.uint8))
        with pytest.raises(ValueError, match="shape"):
            writer.write(np.zeros((16, 16), np.uint8))
        with pytest.raises(ValueError, match="uint8 or float"):
            writer.write(np.zeros((32, 32, 3), np.int32))
    got = np.stack(list(VideoReader(path)))
    assert got.shape == (6, 32, 32, 3)
    assert min(psnr(g, r) for g, r in zip(got, ref, strict=True)) > 30


def test_decoding_matches_pinned_ffmpeg_rgb24(tmp_path, make_video):
    """Our RGB frames are exactly what `ffmpeg -pix_fmt rgb24` gives (limited BT.601, full range, BT.709 tagged)."""
    sources = {"ours": make_video(frames=4, size=(64, 48))}
    variants = {"full": ["-pix_fmt", "yuvj420p"],
                "bt709": ["-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709",
                          "-color_trc", "bt709"]}
    for name, args in variants.items():
        sources[name] = tmp_path / f"{name}.mp4"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-frames:v",
                        "4", "-c:v", "libx264", *args, str(sources[name])], check=True)
    assert probe(sources["full"]).color_range == "pc"
    assert probe(sources["ours"]).color_range == "tv"
    for name, path in sources.items():
        raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24",
                              "-"], check=True, capture_output=True).stdout
        expected = np.frombuffer(raw, np.uint8).reshape(-1, 48, 64, 3)
        got = np.stack(list(VideoReader(path)))
        np.testing.assert_array_equal(got, expected, err_msg=name)


@pytest.mark.parametrize("suffix", [".mkv", ".avi", ".mov"])
def test_frame_count_in_other_containers(tmp_path, make_video, suffix):
    path = tmp_path / f"clip{suffix}"  # Matroska has no frame count in its header: packets are counted
    with VideoWriter(path, 25) as writer:
        for i in range(9):
            writer.write(make_video.frame(i, 32, 32))
    info = probe(path)
    assert info.frame_count == 9 and info.fps == 25.0
    assert len(list(VideoReader(path))) == 9


# -- audio ---------------------------------------------------------------------------------------------------------
def test_audio_is_muxed_and_kept(make_video):
    path = make_video(frames=25, size=(32, 32), fps=25, audio=True, tone_hz=440)
    info = probe(path)
    assert info.has_audio and info.audio_codec == "aac" and info.audio_sample_rate == 16000
    assert info.audio_duration == pytest.approx(1.0, abs=0.05)
    samples = read_audio(path)
    assert samples.dtype == np.int16 and samples.ndim == 1
    assert len(samples) == pytest.approx(16000, abs=800)
    assert dominant_hz(samples, 16000) == pytest.approx(440, abs=5)
    assert len(read_audio(path, sample_rate=8000)) == pytest.approx(8000, abs=400)


@pytest.mark.parametrize("audio_seconds", [2.0, 0.2])
def test_audio_trimmed_or_padded_to_video_length(tmp_path, make_video, make_wav, audio_seconds):
    path = tmp_path / "v.mp4"
    with VideoWriter(path, 25, audio=make_wav(audio_seconds)) as writer:
        for i in range(10):
            writer.write(make_video.frame(i, 32, 32))
    info = probe(path)
    assert info.duration == pytest.approx(0.4, abs=1e-3)
    assert info.audio_duration == pytest.approx(0.4, abs=0.05)


def test_extract_audio_format(tmp_path, make_video):
    src = make_video(frames=25, size=(32, 32), audio=True, sample_rate=44100)
    out = extract_audio(src, tmp_path / "sub" / "a.wav")
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        assert w.getnframes() == pytest.approx(16000, abs=800)
    assert leftovers(out.parent) == []
    with wave.open(str(extract_audio(src, tmp_path / "b.wav", sample_rate=22050))) as w:
        assert w.getframerate() == 22050


def test_to_constant_fps_on_30fps_clip_with_audio(tmp_path, make_video):
    src = make_video(frames=60, size=(64, 48), fps=30, audio=True)  # 2.0 s
    before = probe(src)
    after = to_constant_fps(src, tmp_path / "cfr.mp4", fps=25)
    assert after.fps == 25.0
    assert abs(after.duration - before.duration) <= 0.040
    assert after.frame_count == pytest.approx(50, abs=1)
    assert after.has_audio and after.audio_duration == pytest.approx(before.audio_duration, abs=0.05)
    assert dominant_hz(read_audio(after.path), 16000) == pytest.approx(440, abs=5)
    assert leftovers(tmp_path) == []


def test_to_constant_fps_without_audio_and_odd_size(tmp_path, make_video):
    src = tmp_path / "odd.mkv"
    with VideoWriter(src, 30) as writer:  # the writer pads to 34x26; re-timing keeps that
        for i in range(15):
            writer.write(make_video.frame(i, 33, 25))
    after = to_constant_fps(src, tmp_path / "cfr.mp4", fps=25)
    assert (after.fps, after.size, after.has_audio) == (25.0, (34, 26), False)
    assert after.duration == pytest.approx(0.5, abs=0.04)


# -- atomic writing ------------------------------------------------------------------------------------------------
def test_exception_inside_with_leaves_nothing(tmp_path, make_video, make_wav):
    for audio in (None, make_wav(1.0)):
        target = tmp_path / "out.mp4"
        with pytest.raises(RuntimeError), VideoWriter(target, 25, audio=audio) as writer:
            writer.write(make_video.frame(0, 32, 32))
            raise RuntimeError("boom")
        assert not target.exists()
        assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".wav") == []


def test_writer_refuses_containers_without_h264(tmp_path):
    with pytest.raises(MediaError, match="extension"):
        VideoWriter(tmp_path / "clip.webm", 25)
    assert list(tmp_path.iterdir()) == []


def test_no_frames_written_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(MediaError, match="no frames"), VideoWriter(tmp_path / "empty.mp4", 25):
        pass
    assert list(tmp_path.iterdir()) == []


def test_successful_write_leaves_only_the_file(tmp_path, make_video):
    with VideoWriter(tmp_path / "x.mp4", 25) as writer:
        writer.write(make_video.frame(0, 32, 32))
        assert not (tmp_path / "x.mp4").exists()  # not visible under its name before close
    assert [p.name for p in tmp_path.iterdir()] == ["x.mp4"]


# -- bad input: one MediaError naming the file ---------------------------------------------------------------------
@pytest.fixture
def bad_files(tmp_path, make_video) -> dict[str, Path]:
    files = {"missing": tmp_path / "missing.mp4", "empty": tmp_path / "empty.mp4", "text": tmp_path / "text.mp4",
             "directory": tmp_path / "folder.mp4", "truncated": tmp_path / "truncated.mp4"}
    files["empty"].write_bytes(b"")
    files["text"].write_text("this is not a video\n")
    files["directory"].mkdir()
    good = make_video(frames=50, size=(64, 48), audio=True).read_bytes()
    files["truncated"].write_bytes(good[: len(good) // 2])
    return files


@pytest.mark.parametrize("case,reason", [("missing", "no such file"), ("empty", "empty file"),
                                         ("text", "not a readable media"), ("directory", "is a directory"),
                                         ("truncated", "truncated")])
def test_bad_input_gives_one_line_media_error(bad_files, tmp_path, case, reason):
    path = bad_files[case]
    for call in (probe, VideoReader, read_audio, lambda p: extract_audio(p, tmp_path / "x.wav"),
                 lambda p: to_constant_fps(p, tmp_path / "x.mp4"), lambda p: VideoWriter(tmp_path / "y.mp4", 25, p)):
        with pytest.raises(MediaError) as info:
            call(path)
        message = str(info.value)
        assert str(path) in message and reason in message and "\n" not in message
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "x.mp4").exists()


def test_audio_needed_but_absent(tmp_path, make_video):
    silent = make_video(frames=5, size=(32, 32))
    for call in (lambda: extract_audio(silent, tmp_path / "a.wav"), lambda: read_audio(silent),
                 lambda: VideoWriter(tmp_path / "v.mp4", 25, audio=silent)):
        with pytest.raises(MediaError, match="no audio stream") as info:
            call()
        assert str(silent) in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_audio_only_file_is_not_a_video(make_wav):
    info = probe(make_wav(0.5))
    assert info.has_audio and not info.has_video and info.audio_duration == pytest.approx(0.5, abs=0.01)
    with pytest.raises(MediaError, match="no video stream"):
        VideoReader(make_wav(0.5))


def test_ffmpeg_is_the_pinned_binary():
    assert os.path.isfile(ffmpeg_exe()) and "imageio_ffmpeg" in ffmpeg_exe()
    version = ffmpeg_version()
    assert any(ch.isdigit() for ch in version) and "\n" not in version
    versions = media_versions()
    assert versions["ffmpeg"] == version and versions["pyav"]


# -- real media ----------------------------------------------------------------------------------------------------
def test_real_fixture_driving_mp4(make_video, shared_fixtures):
    """A DaGAN-style driving clip (256x256, 25 fps, 184 frames, no audio; here the kit's talking-head sample, plus
    the DaGAN authors' driving.mp4 when ../shared/fixtures exists) probes and reads chunk by chunk completely."""
    clips = [make_video.talking_head(frames=184)]
    if shared_fixtures is not None and (shared_fixtures / "dagan" / "driving.mp4").is_file():
        clips.append(shared_fixtures / "dagan" / "driving.mp4")
    for path in clips:
        reader = VideoReader(path)
        assert (reader.fps, reader.frame_count, reader.size, reader.has_audio) == (25.0, 184, (256, 256), False)
        assert reader.duration == pytest.approx(184 / 25, abs=0.05)
        count = sum(len(chunk) for chunk in reader.chunks(64))
        assert count == 184


# -- memory --------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_reading_a_long_video_keeps_memory_bounded(tmp_path):
    """A 60 s 640x360 clip (1500 frames, ~1 GB decoded) reads frame by frame in well under 400 MB peak RSS."""
    bench = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_media_memory.py"
    out = subprocess.run([sys.executable, str(bench), "--seconds", "60", "--workdir", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    peak = [line for line in out.stdout.splitlines() if line.startswith("peak_rss_mb")]
    assert peak, out.stdout
    assert float(peak[0].split()[1]) < 400
