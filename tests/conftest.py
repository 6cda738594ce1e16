"""Shared pytest fixtures for the whole suite.

* ``make_video`` (session): factory writing tiny synthetic videos with the kit's own VideoWriter.
      path = make_video(frames=10, size=(64, 48), fps=25, audio=False)
      path = make_video(frames=30, fps=30, audio=True, tone_hz=440, sample_rate=16000)
      expected = make_video.frame(i, 64, 48)     # the exact RGB frame i that was written (before H.264 coding)
  Same arguments -> same file (cached for the session); never modify the returned file, copy it first.
      path = make_video.talking_head(frames=184)                    # 256x256 25 fps face clip, no audio
      path = make_video.talking_head(frames=25, speech=wav, start=0.5, audio=True)   # speech[0.5 s:1.5 s] muxed
  ``talking_head`` renders the kit's embedded sample face (talkingface.sample: skimage's astronaut photo with head
  motion, a blink and a mouth that opens with the speech's loudness; OpenCV's Haar cascade finds the face).
* ``make_wav`` (session): ``make_wav(seconds=1.0, sample_rate=16000, tone_hz=440.0)`` -> Path of a mono int16 sine wav.
* ``shared_fixtures``: ``Path`` of ``../shared/fixtures`` next to the repository (real media: DaGAN's driving.mp4,
  src.png, CC BY-NC, never copied into the repository), or ``None`` when that folder is absent. Only for optional
  extra checks: every test must pass on the kit-made media above without it.
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


class VideoFactory:
    """Writes deterministic synthetic videos into one session folder (see the module docstring)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._made: dict[tuple, Path] = {}

    @staticmethod
    def frame(index: int, width: int = 64, height: int = 48) -> np.ndarray:
        """Frame ``index`` of the synthetic content: smooth moving colour waves, (height, width, 3) uint8.

        Smooth on purpose, so an H.264 round trip keeps PSNR well above 30 dB; every frame differs."""
        y, x = np.mgrid[0:height, 0:width].astype(np.float64)
        t = index / 25.0
        r = 128 + 90 * np.sin(2 * np.pi * (x / max(width, 2) + 0.5 * t))
        g = 128 + 90 * np.cos(2 * np.pi * (y / max(height, 2) - 0.3 * t))
        b = 128 + 60 * np.sin(2 * np.pi * ((x + y) / max(width + height, 2) + t))
        return np.stack([r, g, b], axis=-1).round().astype(np.uint8)

    def wav(self, seconds: float = 1.0, sample_rate: int = 16000, tone_hz: float = 440.0) -> Path:
        """A mono 16-bit PCM sine tone (amplitude 0.5 of full scale)."""
        key = ("wav", float(seconds), int(sample_rate), float(tone_hz))
        if key not in self._made:
            path = self.folder / f"tone_{seconds:g}s_{sample_rate}hz_{tone_hz:g}.wav"
            n = round(seconds * sample_rate)
            samples = (0.5 * 32767 * np.sin(2 * np.pi * tone_hz * np.arange(n) / sample_rate)).astype("<i2")
            with wave.open(str(path), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(sample_rate)
                w.writeframes(samples.tobytes())
            self._made[key] = path
        return self._made[key]

    def __call__(self, frames: int = 10, size: tuple[int, int] = (64, 48), fps: float = 25, audio: bool = False, *,
                 tone_hz: float = 440.0, sample_rate: int = 16000, name: str | None = None) -> Path:
        """Write (once per argument set) a video of ``frames`` synthetic frames of ``size`` (w, h) at ``fps``; with
        ``audio=True`` a sine tone as long as the video is muxed in as AAC. Returns the mp4's path."""
        from talkingface.media import VideoWriter

        width, height = size
        key = ("video", int(frames), int(width), int(height), float(fps), bool(audio), float(tone_hz),
               int(sample_rate), name)
        if key not in self._made:
            stem = name or f"synth_{frames}f_{width}x{height}_{fps:g}fps{'_audio' if audio else ''}"
            path = self.folder / f"{stem}.mp4"
            track = self.wav(frames / fps, sample_rate, tone_hz) if audio else None
            with VideoWriter(path, fps, audio=track) as writer:
                for i in range(frames):
                    writer.write(self.frame(i, width, height))
            self._made[key] = path
        return self._made[key]

    def talking_head(self, frames: int = 184, *, speech: Path | None = None, start: float = 0.0,
                     audio: bool = False) -> Path:
        """Write (once per argument set) a 256x256, 25 fps H.264 clip of ``frames`` frames of the kit's sample face
        (talkingface.sample.render_frame), from ``start`` seconds into the head motion. The mouth follows the loudness
        of ``speech`` (a wav; default the kit's sample_speech.wav) from ``start`` on; with ``audio=True`` that stretch
        of the speech is muxed in as AAC. Returns the mp4's path."""
        from skimage.data import astronaut

        from talkingface import sample
        from talkingface.media import VideoWriter

        speech = Path(speech) if speech is not None else sample.SPEECH_WAV
        key = ("talking_head", int(frames), str(speech), float(start), bool(audio))
        if key not in self._made:
            with wave.open(str(speech), "rb") as w:
                rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
                w.setpos(min(round(start * rate), w.getnframes()))
                raw = w.readframes(round(frames / sample.FPS * rate))
            if width != 2:
                raise ValueError(f"{speech}: talking_head needs 16-bit PCM speech, got {8 * width}-bit")
            samples = np.frombuffer(raw, dtype="<i2").reshape(-1, channels)[:, 0]
            openness = sample.mouth_openness(samples, rate, frames)
            stem = f"talking_head_{frames}f_{speech.stem}_{start:g}s{'_audio' if audio else ''}"
            track = None
            if audio:
                track = self.folder / f"{stem}.wav"
                with wave.open(str(track), "wb") as w:
                    w.setnchannels(channels)
                    w.setsampwidth(width)
                    w.setframerate(rate)
                    w.writeframes(raw)
            path = self.folder / f"{stem}.mp4"
            photo = astronaut()
            with VideoWriter(path, sample.FPS, audio=track) as writer:
                for i in range(frames):
                    writer.write(sample.render_frame(photo, start + i / sample.FPS, sample.Motion(), openness[i]))
            self._made[key] = path
        return self._made[key]


@pytest.fixture(scope="session")
def make_video(tmp_path_factory) -> VideoFactory:
    """Factory of tiny synthetic test videos (session-cached): ``make_video(frames, size=(w, h), fps, audio)``."""
    return VideoFactory(tmp_path_factory.mktemp("synthetic_media"))


@pytest.fixture(scope="session")
def make_wav(make_video) -> callable:
    """Factory of mono int16 sine-tone wavs: ``make_wav(seconds=1.0, sample_rate=16000, tone_hz=440.0) -> Path``."""
    return make_video.wav


@pytest.fixture
def shared_fixtures() -> Path | None:
    """``Path`` of ../shared/fixtures (the DaGAN authors' real media), for optional extra checks; ``None`` if absent."""
    folder = REPO_ROOT.parent / "shared" / "fixtures"
    return folder if folder.is_dir() else None
