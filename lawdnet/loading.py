"""What `python -m lawdnet.infer` loads: the lip-sync model and the audio features, from files or seeded at random.

A :class:`FeatureSource` turns an audio file into DeepSpeech rows the way the chosen feature pipeline does it (dp1:
the authors' ``utils/deep_speech.py`` on the TensorFlow graph; dp2: deepspeech.pytorch), loading the network once.
``random_seed`` (smoke tests, ``--random_model``) gives a randomly initialised generator of the real architecture and
a tiny random dp2 network instead of weights, labelled RANDOM WEIGHTS wherever the result is recorded.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lawdnet.model import LipSyncModel

RANDOM_LABEL = ("RANDOM WEIGHTS (seeded random generator and dp2 network, not the authors' model: the output means "
                "nothing)")
log = logging.getLogger("lawdnet")


class FeatureSource:
    """``source(audio_path) -> (features (T25, 29) float32, samples at 16 kHz, the file's sample rate)``."""

    def __init__(self, kind: str, extractor, label: str):
        if kind not in ("dp1", "dp2"):
            raise ValueError(f"features must be dp1 or dp2, got {kind!r}")
        self.kind, self.extractor, self.label = kind, extractor, label

    def __call__(self, path: str | os.PathLike) -> tuple[np.ndarray, int, int]:
        rows = []
        n16, rate = self.stream(path, rows.append)
        return np.concatenate(rows), n16, rate

    def stream(self, path: str | os.PathLike, take: Callable[[np.ndarray], Any]) -> tuple[int, int]:
        """Hand the rows of ``path`` to ``take`` block by block (a 16 kHz 16-bit wav is read a range at a time:
        memory does not grow with the audio's length); returns (samples at 16 kHz, the file's sample rate)."""
        from lawdnet.features.samples import close_samples, open_samples
        from talkingface.heap import release_free_heap

        source, rate = open_samples(path, self.kind)
        try:
            for block in self.extractor.rows(source):
                take(block)
                release_free_heap()     # freed window activations fragment glibc's heap: RSS would creep with length
        finally:
            close_samples(source)
        return int(source.size), int(rate)


def random_generator(model: str, seed: int, device: str = "cpu") -> torch.nn.Module:
    """The real generator architecture with seeded random weights (:mod:`lawdnet.random_weights`), eval mode."""
    from lawdnet.checkpoint import build_generator
    from lawdnet.random_weights import randomise_weights

    return randomise_weights(build_generator(model), seed).to(device).eval()


#: deepspeech.pytorch's English labels (29: CTC blank, apostrophe, A-Z, space), as its LibriSpeech model stores them
DP2_LABELS = ("_", "'", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ", " ")


def tiny_random_dp2(seed: int):
    """(network, config): deepspeech.pytorch's architecture, 2 BiLSTM layers of 32, seeded random weights."""
    from lawdnet.features.dp2_model import DeepSpeech2, Dp2Config

    cfg = Dp2Config(labels=DP2_LABELS, hidden_size=32, hidden_layers=2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DeepSpeech2(cfg)
    return model.eval(), cfg


@contextlib.contextmanager
def _native_stderr_silenced():
    """File descriptor 2 pointed at /dev/null for the block: what native libraries print there goes nowhere (Python
    errors still raise; nothing the kit logs is written inside the block)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_lip_sync_model(model: str, mouth: int, device: str, checkpoint: Path | None,
                        random_seed: int | None = None) -> tuple[LipSyncModel, dict[str, Any]]:
    """(model, weights record): the checkpoint loaded strictly in the authors' format, or a seeded random one."""
    if random_seed is not None:
        log.warning("%s (seed %d)", RANDOM_LABEL, random_seed)
        net = random_generator(model, random_seed, device)
        return LipSyncModel(net, mouth, model, device), {"random": True, "label": RANDOM_LABEL, "seed": random_seed}
    from lawdnet.checkpoint import load_generator

    net = load_generator(checkpoint, device=device, model=model)
    return LipSyncModel(net, mouth, model, device), {"random": False, "generator": str(checkpoint)}


def load_extractor(kind: str, device: str, path: Path | None, random_seed: int | None = None) -> FeatureSource:
    """The feature source: dp1 (TensorFlow graph at ``path``), dp2 (deepspeech.pytorch checkpoint at ``path``), or
    with ``random_seed`` a tiny random dp2 network."""
    if random_seed is not None:
        from lawdnet.features.dp2 import Dp2Extractor

        model, cfg = tiny_random_dp2(random_seed)
        return FeatureSource("dp2", Dp2Extractor.from_model(model, cfg, device=device),
                             f"dp2 tiny random network (seed {random_seed})")
    if kind == "dp1":
        from lawdnet.features.dp1 import Dp1Extractor

        with _native_stderr_silenced():   # TensorFlow's C++ start-up lines (absl, oneDNN) ignore TF_CPP_MIN_LOG_LEVEL
            extractor = Dp1Extractor(path)
        return FeatureSource("dp1", extractor, str(path))
    from lawdnet.features.dp2 import Dp2Extractor

    return FeatureSource("dp2", Dp2Extractor(path, device=device), str(path))


def random_extractor(kind: str, device: str, seed: int) -> FeatureSource:
    """A tiny random feature source of ``kind``: dp1 a random graph with v0.1.0's interface (TensorFlow), dp2 a
    random deepspeech.pytorch network (smoke runs: RANDOM WEIGHTS)."""
    if kind != "dp1":
        return load_extractor("dp2", device, None, seed)
    from lawdnet.features.dp1 import Dp1Extractor

    with _native_stderr_silenced():
        extractor = Dp1Extractor.random(seed)
    return FeatureSource("dp1", extractor, f"dp1 tiny random graph (seed {seed})")
