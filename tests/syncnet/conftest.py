"""Fixtures of the SyncNet tests: weights in the syncnet_v2.model format made from a seeded model, tiny clips.

SyncNet needs 224x224 frames, so clips are kept to ~1 s (about 20 five-frame windows)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
SAMPLE_SPEECH = REPO / "talkingface" / "data" / "sample_speech.wav"


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


@pytest.fixture(scope="session")
def speech_clip(make_video, speech_wav) -> Path:
    """1 s, 25 fps, 256x256 H.264 (limited range) face video with speech (AAC): the kit's talking-head sample
    (astronaut photo, head motion, mouth following the speech; tests/conftest.py) over speech_wav[0.5 s:1.5 s]."""
    return make_video.talking_head(frames=25, speech=speech_wav, start=0.5, audio=True)


@pytest.fixture(scope="session")
def tone_clip(make_video) -> Path:
    """Synthetic frames with a sine tone (always available): 24 frames 224x224 at 25 fps."""
    return make_video(frames=24, size=(224, 224), fps=25, audio=True, tone_hz=330.0)


@pytest.fixture(scope="session")
def model(syncnet_weights):
    from syncnet.model import load_syncnet

    return load_syncnet(syncnet_weights)
