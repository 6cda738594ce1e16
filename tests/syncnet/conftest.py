"""Fixtures of the SyncNet tests: weights in the syncnet_v2.model format made from a seeded model, tiny clips.

SyncNet needs 224x224 frames, so clips are kept to ~1 s (about 20 five-frame windows)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from _syncnet_helpers import ffmpeg

REPO = Path(__file__).resolve().parents[2]
SAMPLE_SPEECH = REPO / "talkingface" / "data" / "sample_speech.wav"
DRIVING = REPO.parent / "shared" / "fixtures" / "dagan" / "driving.mp4"


def structured_syncnet(seed: int = 0):
    """A seeded SyncNet whose two streams share a large output bias, so that the 31 mean distances vary with the
    offset (the zero-padded audio rows are far away) instead of being flat as with a plain random init."""
    from syncnet.model import SyncNet

    torch.manual_seed(seed)
    model = SyncNet()
    with torch.no_grad():
        bias = torch.randn(1024) * 5.0
        model.netfclip[3].bias.copy_(bias)
        model.netfcaud[3].bias.copy_(bias)
    return model.eval()


@pytest.fixture(scope="session")
def syncnet_weights(tmp_path_factory) -> Path:
    """syncnet_v2.model-format file (plain state dict, no num_batches_tracked, as released)."""
    from syncnet.model import save_syncnet

    return save_syncnet(structured_syncnet(0), tmp_path_factory.mktemp("syncnet_w") / "syncnet_v2.model")


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory) -> Path:
    """Real speech: the kit's sample_speech.wav, else espeak-ng; skipped (with the reason) when neither exists."""
    if SAMPLE_SPEECH.is_file():
        return SAMPLE_SPEECH
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("no speech source: talkingface/data/sample_speech.wav absent and espeak-ng not installed")
    out = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run([espeak, "-w", str(out), "Lip sync needs real speech to be measured."], check=True)
    return out


def _face_frames(tmp: Path, seconds: float) -> list:
    if DRIVING.is_file():
        return ["-i", DRIVING]
    return ["-f", "lavfi", "-i", f"testsrc2=size=256x256:rate=25:duration={seconds}"]


@pytest.fixture(scope="session")
def speech_clip(tmp_path_factory, speech_wav) -> Path:
    """~1 s, 25 fps, 256x256 H.264 (limited range) face video (DaGAN's driving.mp4 when present) with speech (AAC)."""
    tmp = tmp_path_factory.mktemp("speech_clip")
    out = tmp / "speech_clip.mp4"
    ffmpeg(*_face_frames(tmp, 1.0), "-ss", "0.5", "-i", speech_wav, "-map", "0:v:0", "-map", "1:a:0", "-t", "1.0",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", out)
    return out


@pytest.fixture(scope="session")
def tone_clip(make_video) -> Path:
    """Synthetic frames with a sine tone (always available): 24 frames 224x224 at 25 fps."""
    return make_video(frames=24, size=(224, 224), fps=25, audio=True, tone_hz=330.0)


@pytest.fixture(scope="session")
def model(syncnet_weights):
    from syncnet.model import load_syncnet

    return load_syncnet(syncnet_weights)
