"""NIQE against pyiqa's ``niqe`` with the official LIVE parameters: the values pyiqa gave on deterministic images,
recorded by make_niqe_calibration.py (its ``--check`` compares a live pyiqa with them and with the kit)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from _metric_images import image_sha256, make_image

from talkingface.errors import KitError
from talkingface.metrics import NotComputable, create_metric, niqe
from talkingface.metrics.niqe import load_pristine_params, niqe_batch, to_gray

HERE = Path(__file__).resolve().parent
CALIBRATION = json.loads((HERE / "data" / "niqe_pyiqa_calibration.json").read_text())
OFFICIAL_MAT = HERE.parent / "data" / "niqe" / "modelparameters.mat"   # LIVE's release file (tests/data/README.md)


@pytest.mark.parametrize("entry", CALIBRATION["images"], ids=lambda e: e["recipe"])
def test_matches_pyiqa_calibration(entry):
    img = make_image(entry["recipe"])
    assert image_sha256(img) == entry["sha256"], f"image recipe {entry['recipe']} no longer gives the same pixels"
    value = niqe(img)
    assert value == pytest.approx(entry["niqe"], rel=CALIBRATION["tolerance_rel"])
    assert value == pytest.approx(entry["niqe"], rel=1e-6)     # what we actually reach (float64, same steps)


def test_shipped_params_are_the_official_ones():
    mu, cov = load_pristine_params()
    mu_o, cov_o = load_pristine_params(OFFICIAL_MAT)
    np.testing.assert_array_equal(mu, mu_o)
    np.testing.assert_array_equal(cov, cov_o)
    with np.load(HERE.parents[1] / "talkingface" / "data" / "niqe_pris_params.npz") as shipped:   # made from this file
        assert str(shipped["source_sha256"]) == hashlib.sha256(OFFICIAL_MAT.read_bytes()).hexdigest()
    assert (HERE.parents[1] / "talkingface" / "data" / "NIQE_LICENSE.txt").read_text().count("LIVE") >= 2


def test_batch_equals_single_and_differs_per_image():
    a = make_image("astronaut")[:200, :256]
    b = make_image("coffee")[100:300, 100:356]
    batch = niqe_batch(np.stack([a, b, a]))
    assert batch.dtype == np.float64 and batch.shape == (3,)
    assert batch[0] == pytest.approx(niqe(a), rel=1e-12) and batch[2] == pytest.approx(batch[0], rel=1e-12)
    assert batch[1] == pytest.approx(niqe(b), rel=1e-12) and abs(batch[1] - batch[0]) > 0.1


def test_too_small_and_flat_images_are_not_computable():
    img = make_image("chelsea")
    assert np.isfinite(niqe(img[:192, :192]))
    with pytest.raises(NotComputable, match="smaller than 192 px"):
        niqe(img[:191, :300])
    with pytest.raises(NotComputable, match="smaller than 192 px"):
        create_metric("niqe")(np.stack([img[:300, :100]] * 2))
    with pytest.raises(NotComputable, match="frame 1 has no textured"):
        niqe_batch(np.stack([img[:192, :192], np.full((192, 192, 3), 128, np.uint8)]))
    assert issubclass(NotComputable, KitError)


def test_gray_conversions():
    rng = np.random.default_rng(3)
    px = rng.integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    x = torch.from_numpy(px.astype(np.float32) / np.float32(255))
    y = torch.from_numpy(px)
    # pyiqa: Y of YIQ from float32 [0,1], ×255, rounded
    yiq = torch.tensor([[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213], [0.2115, -0.5227, 0.3112]]).t()
    want = (torch.matmul(x, yiq)[..., 0] * 255).round().double()
    assert torch.equal(to_gray(y, "pyiqa")[:, 0], want)
    # MATLAB rgb2gray on uint8: double arithmetic, rounded half away from zero
    m = px.astype(np.float64) @ np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
    assert np.array_equal(to_gray(y, "matlab")[0, 0].numpy(), np.floor(m[0] + 0.5))
    img = make_image("astronaut")
    v_m = niqe(img, variant="matlab")
    assert np.isfinite(v_m) and v_m != niqe(img) and v_m == pytest.approx(niqe(img), rel=0.05)
    assert "matlab" in create_metric("niqe", variant="matlab").spec.protocol


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    img = np.stack([make_image("astronaut"), make_image("camera_rgb")])
    np.testing.assert_allclose(niqe_batch(img, device="cuda"), niqe_batch(img), rtol=1e-6)
