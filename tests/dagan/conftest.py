"""Fixtures for the DaGAN tests: a tiny config, randomly initialised networks with meaningful weights, and moving
test frames. Networks are randomised so that keypoints spread and move and outputs span [0, 1] (a plain random
init gives nearly constant outputs that would make equality tests vacuous)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dagan.config import DaganConfig, load_dagan_config
from dagan.model import DaganModel, build_depth_network, build_discriminator, build_generator, build_kp_detector
from dagan.random_weights import randomise_weights

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYOUTS = REPO_ROOT / "tests" / "data" / "layouts"
TINY_SIZE = 64

TINY = {
    "model_params": {
        "common_params": {"num_kp": 5, "num_channels": 3, "estimate_jacobian": True},
        "kp_detector_params": {"temperature": 0.1, "block_expansion": 8, "max_features": 32,
                               "scale_factor": 0.25, "num_blocks": 2},
        "generator_params": {"block_expansion": 8, "max_features": 32, "num_down_blocks": 2,
                             "num_bottleneck_blocks": 1, "estimate_occlusion_map": True,
                             "dense_motion_params": {"block_expansion": 8, "max_features": 32, "num_blocks": 2,
                                                     "scale_factor": 0.25}},
        "discriminator_params": {"scales": [1], "block_expansion": 8, "max_features": 32, "num_blocks": 2,
                                 "use_kp": True},
    },
}


def _randomise(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """dagan.random_weights.randomise_weights (random, well-conditioned weights), plus a non-zero BatchNorm
    ``num_batches_tracked`` so checkpoint round trips show that those buffers are kept."""
    randomise_weights(module, seed)
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.num_batches_tracked.fill_(7)
    return module


@pytest.fixture(scope="session")
def randomise():
    """``randomise(module, seed)``: meaningful random weights, in place; returns the module in eval mode."""
    return _randomise


@pytest.fixture(scope="session")
def layouts_dir() -> Path:
    """tests/data/layouts: the authors' state-dict layouts (key names and shapes of their published files)."""
    assert LAYOUTS.is_dir(), f"reference layouts {LAYOUTS} missing from the checkout"
    return LAYOUTS


@pytest.fixture(scope="session")
def tiny_cfg() -> DaganConfig:
    return load_dagan_config(TINY)


@pytest.fixture(scope="session")
def tiny_nets(tiny_cfg):
    """(generator, kp_detector, depth_encoder, depth_decoder, discriminator), randomised, eval mode."""
    encoder, decoder = build_depth_network(tiny_cfg)
    return (_randomise(build_generator(tiny_cfg), 1), _randomise(build_kp_detector(tiny_cfg), 2),
            _randomise(encoder, 3), _randomise(decoder, 4), _randomise(build_discriminator(tiny_cfg), 5))


@pytest.fixture(scope="session")
def tiny_model(tiny_nets, tiny_cfg) -> DaganModel:
    """A DaganModel over the tiny networks, resizing frames to 64x64, 3 driving frames per batch."""
    g, k, e, d, _ = tiny_nets
    return DaganModel(g, k, e, d, tiny_cfg, frame_size=TINY_SIZE, batch_size=3)


def _astronaut() -> np.ndarray:
    from skimage import data
    return data.astronaut()  # 512x512 RGB uint8, shipped inside scikit-image


@pytest.fixture(scope="session")
def source_image() -> np.ndarray:
    return _astronaut()[:400, 50:450]


@pytest.fixture(scope="session")
def driving_frames() -> np.ndarray:
    """5 frames (N, 120, 120, 3) uint8 of a face moving across the crop."""
    img = _astronaut()
    return np.stack([img[20 + 12 * i: 260 + 12 * i: 2, 120 + 9 * i: 360 + 9 * i: 2] for i in range(5)])


@pytest.fixture
def media_counts(monkeypatch) -> dict[str, list[str]]:
    """Counts what is done to media files: ``{"probe": [names probed], "decode": [names of decoding passes],
    "open": [names opened by PyAV]}`` (a pass counts when it starts, even if it stops early)."""
    import sys

    import av

    probe_module, reader_module = sys.modules["talkingface.media.probe"], sys.modules["talkingface.media.reader"]
    counts: dict[str, list[str]] = {"probe": [], "decode": [], "open": []}
    real_probe, real_frames, real_open = probe_module.probe, reader_module.VideoReader._frames, av.open

    def probe(path):
        counts["probe"].append(Path(path).name)
        return real_probe(path)

    def frames(self):
        counts["decode"].append(self.path.name)
        return real_frames(self)

    def av_open(file, *args, **kwargs):
        counts["open"].append(Path(str(file)).name)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(probe_module, "probe", probe)
    monkeypatch.setattr(reader_module, "probe", probe)
    monkeypatch.setattr(reader_module.VideoReader, "_frames", frames)
    monkeypatch.setattr(av, "open", av_open)
    return counts
