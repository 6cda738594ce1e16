"""A/V sync of every writer that keeps audio: a flash frame and a click written at the same instant stay together.

The clips: dark frames with one white frame (the flash) at a known index, and a wav that is silent but for a 2 ms
burst (the click) starting at the flash's time. Each output is decoded independently of the kit's reader, with the
pinned ffmpeg binary: the frames as rgb24 with their presentation times (``showinfo``, nothing dropped or repeated),
the audio as 16 kHz mono s16le placed on the same timeline (``aresample=async=1:first_pts=0``: a stream that starts
late is padded with silence, one that starts early is cut). The click must start at the flash's presentation time
within 1 ms (16 samples).

Measured with ffmpeg n9.0.2: 0 samples for VideoWriter (mp4, mov, mkv at 16, 44.1 and 48 kHz: AAC's 1024-sample
priming is cut by the mp4 edit list and Matroska's codec delay), to_constant_fps (AAC copied or encoded), the static
baseline, DaGAN's animate_video and extract_audio. Before the fix in talkingface/media/writer.py an ``.avi`` with
audio was off twice: AVI has no presentation timestamps, so the B-frame delay showed the video from 80 ms, and no
edit list, so the AAC priming put the audio 1024 samples late (the click 16 ms before the flash at 16 kHz, 57 ms
before it at 44.1 kHz); the kit's own probe called the file truncated.
"""
from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from talkingface.media import VideoWriter, extract_audio, ffmpeg_exe, read_audio, to_constant_fps

FPS = 25
FLASH = 12                       # the flash frame: 0.48 s at 25 fps
N_FRAMES = 30
SIZE = (64, 48)                  # (w, h)
RATE = 16000                     # decoded audio rate
TOLERANCE_MS = 1.0               # 16 samples at 16 kHz


def flash_frames(n: int = N_FRAMES, flash: int = FLASH, size=SIZE) -> np.ndarray:
    frames = np.full((n, size[1], size[0], 3), 16, np.uint8)
    frames[flash] = 255
    return frames


def click_wav(path: Path, sample_rate: int, at: float, seconds: float) -> Path:
    """Silence with a 2 ms burst of 0.6 full scale starting at ``at`` seconds."""
    samples = np.zeros(round(seconds * sample_rate), np.int16)
    start = round(at * sample_rate)
    samples[start:start + sample_rate // 500] = 20000
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def decode_video(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(frames (n,h,w,3) uint8 RGB, presentation times (n,) s) by the pinned ffmpeg, every decoded frame once."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "info", "-i", str(path), "-map", "0:v:0",
                           "-vf", "showinfo", "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                          capture_output=True, check=True)
    log = proc.stderr.decode("utf-8", "replace")
    times = np.array([float(t) for t in re.findall(r"pts_time:\s*(-?[\d.]+)", log)])
    width, height = map(int, re.search(r"\bs:(\d+)x(\d+)", log).groups())
    frames = np.frombuffer(proc.stdout, np.uint8).reshape(-1, height, width, 3)
    assert len(frames) == len(times), f"{path}: {len(frames)} frames but {len(times)} timestamps"
    return frames, times


def decode_audio(path: Path) -> np.ndarray:
    """16 kHz mono int16 samples on the presentation timeline (sample 0 plays at t = 0)."""
    raw = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
                          "-af", "aresample=async=1:first_pts=0", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, "<i2")


def onset(samples: np.ndarray) -> int:
    """Index of the first sample above half the peak: the click's start."""
    mag = np.abs(samples.astype(np.int32))
    assert mag.max() > 4000, "no click in the audio"
    return int(np.argmax(mag > mag.max() // 2))


def av_offset_ms(path: Path, flash: int = FLASH, frames: int = N_FRAMES, fps: float = FPS,
                 flash_visible: bool = True) -> float:
    """Click time minus flash time (ms) of ``path``, after checking its frames: ``frames`` of them, frame i shown at
    i / fps (so index and time agree for every reader), and the flash (when the writer keeps pixels) at ``flash``."""
    pixels, times = decode_video(path)
    assert len(pixels) == frames
    np.testing.assert_allclose(times, np.arange(frames) / fps, atol=1e-3, err_msg=f"{path}: frame times")
    if flash_visible:
        assert int(np.argmax(pixels.reshape(len(pixels), -1).mean(1))) == flash
    return (onset(decode_audio(path)) / RATE - times[flash]) * 1000


def write_clip(path: Path, sample_rate: int, fps: float = FPS, frames: int = N_FRAMES, flash: int = FLASH) -> Path:
    audio = click_wav(path.with_name(path.stem + ".wav"), sample_rate, flash / fps, frames / fps)
    with VideoWriter(path, fps, audio=audio) as writer:
        writer.write(flash_frames(frames, flash))
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """The flash/click clip at 25 fps with 44.1 kHz source audio, written by VideoWriter (mp4)."""
    return write_clip(tmp_path_factory.mktemp("av_sync") / "clip.mp4", 44100)


@pytest.mark.parametrize(("sample_rate", "suffix"), [(16000, ".mp4"), (44100, ".mp4"), (48000, ".mov"),
                                                     (44100, ".mkv"), (16000, ".avi"), (44100, ".avi")])
def test_video_writer_puts_the_click_on_the_flash(tmp_path, sample_rate, suffix):
    path = write_clip(tmp_path / f"clip{suffix}", sample_rate)
    assert abs(av_offset_ms(path)) <= TOLERANCE_MS
    # the kit's own reader agrees (frames by index, audio from sample 0)
    from talkingface.media import VideoReader, probe

    info = probe(path)
    assert (info.frame_count, info.fps) == (N_FRAMES, FPS)
    with VideoReader(path) as reader:
        pixels = np.concatenate(list(reader.chunks(16)))
    assert int(np.argmax(pixels.reshape(len(pixels), -1).mean(1))) == FLASH
    assert abs(onset(read_audio(path)) - FLASH * RATE // FPS) <= TOLERANCE_MS * RATE / 1000


def test_an_80_ms_shift_is_seen(tmp_path, clip):
    """The check itself: the same clip with its audio muxed 80 ms early (two frames) is off by -80 ms."""
    shifted = tmp_path / "early.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(clip), "-ss", "0.08", "-i", str(clip), "-map", "0:v",
                    "-map", "1:a", "-c:v", "copy", "-c:a", "aac", str(shifted)], check=True)
    assert av_offset_ms(shifted, frames=N_FRAMES) == pytest.approx(-80, abs=TOLERANCE_MS)


@pytest.mark.parametrize(("source", "suffix"), [("aac", ".mp4"), ("pcm", ".mp4"), ("aac", ".avi")])
def test_to_constant_fps_keeps_sync(tmp_path, source, suffix):
    """30 fps -> 25 fps, the flash at 0.4 s (frame 12 at 30 fps, frame 10 at 25 fps): AAC copied, PCM encoded."""
    src = write_clip(tmp_path / "src30.mp4", 44100, fps=30, frames=36, flash=12)
    if source == "pcm":                      # a PCM track in Matroska, muxed by ffmpeg itself (not by the kit)
        pcm = tmp_path / "src30.mkv"
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(src), "-i", str(tmp_path / "src30.wav"),
                        "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "pcm_s16le", str(pcm)], check=True)
        src = pcm
    out = to_constant_fps(src, tmp_path / f"cfr{suffix}", 25)
    assert out.audio_codec == ("pcm_s16le" if suffix == ".avi" else "aac")
    assert abs(av_offset_ms(out.path, flash=10, frames=30)) <= TOLERANCE_MS


def test_extract_audio_keeps_the_click_time(tmp_path, clip):
    wav_path = extract_audio(clip, tmp_path / "a.wav")
    with wave.open(str(wav_path)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert abs(onset(samples) - FLASH * RATE // FPS) <= TOLERANCE_MS * RATE / 1000


def test_static_baseline_keeps_sync(tmp_path, clip):
    """The baseline holds the source still (no flash to see): its frames keep the driving clip's times and the
    click stays at the driving clip's flash time."""
    from talkingface.baseline import static_source_baseline
    from talkingface.media.images import write_image

    (tmp_path / "src").mkdir()
    (tmp_path / "drv").mkdir()
    write_image(tmp_path / "src" / "a.png", np.full((48, 64, 3), 90, np.uint8))
    (tmp_path / "drv" / "a.mp4").write_bytes(clip.read_bytes())
    [out] = static_source_baseline(tmp_path / "src", tmp_path / "drv", tmp_path / "out")
    assert abs(av_offset_ms(out, flash_visible=False)) <= TOLERANCE_MS


@pytest.mark.slow
def test_dagan_animation_keeps_sync(tmp_path):
    """DaGAN's animate_video with random tiny weights (random_model(0, tiny=True)'s files, loaded at 64 px for
    speed): one output frame per driving frame, the driving audio muxed in sync."""
    import tempfile

    from dagan.model import load_model
    from dagan.pipeline import animate_video
    from dagan.random_weights import write_random_model

    with tempfile.TemporaryDirectory(dir=tmp_path) as tmp:
        f = write_random_model(tmp, seed=0, tiny=True)
        model = load_model(f.checkpoint, f.depth_encoder, f.depth_decoder, config=f.config, kp_num=None,
                           frame_size=64)
    driving = write_clip(tmp_path / "driving.mp4", 44100, frames=8, flash=4)
    result = animate_video(model, np.full((64, 64, 3), 90, np.uint8), driving, tmp_path / "out.mp4", progress=False)
    assert result.audio and result.frames == 8
    assert abs(av_offset_ms(result.output, flash=4, frames=8, flash_visible=False)) <= TOLERANCE_MS
