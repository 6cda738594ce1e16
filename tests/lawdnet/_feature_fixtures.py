"""Inputs and tiny weights of the LawDNet feature goldens, made the same way by scripts/make_golden_features.py and
the tests: speech variants of the kit's sample speech, and a tiny TF1 graph in DeepSpeech v0.1.0's format."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from lawdnet.features.dp1_random import tiny_dp1_graph as tiny_graph_bytes  # noqa: F401 - the goldens' graph

REPO = Path(__file__).resolve().parents[2]
SPEECH = REPO / "talkingface" / "data" / "sample_speech.wav"
GOLDEN = REPO / "tests" / "data" / "golden"
GOLDEN_NPZ = GOLDEN / "lawdnet_features.npz"
GOLDEN_JSON = GOLDEN / "lawdnet_features.json"
GRAPH = GOLDEN / "lawdnet_dp1_tiny.pb"
CKPT = GOLDEN / "lawdnet_dp2_tiny.ckpt"
MP3 = GOLDEN / "lawdnet_features_speech.mp3"
#: the wav inputs (name -> how it is made from the sample speech, 16 kHz mono int16, 72763 samples)
VARIANTS = {
    "speech16k": "the sample speech as it is (16 kHz mono)",
    "speech16k_stereo": "16 kHz stereo: left = the speech, right = the reversed speech // 2",
    "speech44k_stereo": "44.1 kHz stereo: left = scipy resample_poly(speech, 441, 160) rounded, right = that "
                        "reversed // 2",
    "speech8k": "8 kHz mono: scipy resample_poly(speech, 1, 2) rounded",
    "silent16k": "0.5 s of zeros, 16 kHz mono",
}


def _int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def variant(name: str) -> tuple[int, np.ndarray]:
    """(rate, int16 samples (n,) or (n, 2)) of one input of :data:`VARIANTS`."""
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    rate, speech = wavfile.read(SPEECH)
    if name == "speech16k":
        return rate, speech
    if name == "speech16k_stereo":
        return rate, np.stack([speech, speech[::-1] // 2], axis=1)
    if name == "speech44k_stereo":
        left = _int16(resample_poly(speech.astype(np.float64), 441, 160))
        return 44100, np.stack([left, left[::-1] // 2], axis=1)
    if name == "speech8k":
        return 8000, _int16(resample_poly(speech.astype(np.float64), 1, 2))
    if name == "silent16k":
        return 16000, np.zeros(8000, dtype=np.int16)
    raise KeyError(name)


def write_variant(name: str, folder: Path) -> Path:
    """``folder/<name>.wav`` (16-bit PCM) of :func:`variant`."""
    from scipy.io import wavfile

    rate, samples = variant(name)
    path = Path(folder) / f"{name}.wav"
    wavfile.write(path, rate, samples)
    return path


def samples_sha256(samples: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and bytes."""
    samples = np.ascontiguousarray(samples)
    head = f"{samples.dtype.str}{samples.shape}".encode()
    return hashlib.sha256(head + samples.tobytes()).hexdigest()
