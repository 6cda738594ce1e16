"""PSNR / SSIM: batched implementations against scikit-image itself, on real photos."""
from __future__ import annotations

import io

import numpy as np
import pytest
from _metric_images import make_image

from talkingface.errors import KitError, MediaError
from talkingface.metrics import NotComputable, create_metric, psnr, ssim
from talkingface.metrics.fidelity import psnr_batch, ssim_batch

skm = pytest.importorskip("skimage.metrics")


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


@pytest.fixture(scope="module")
def pairs():
    """Generated/reference pairs of real photos: noise, JPEG, a shift, an identical pair; 160x200 crops."""
    ref = [make_image("astronaut")[100:260, 150:350], make_image("coffee")[50:210, 200:400],
           make_image("chelsea")[40:200, 100:300], make_image("camera_rgb")[200:360, 100:300]]
    rng = np.random.default_rng(1)
    gen = [np.clip(ref[0] + rng.normal(0, 8, ref[0].shape).round(), 0, 255).astype(np.uint8),
           _jpeg(ref[1], 20),
           np.ascontiguousarray(np.roll(ref[2], 3, axis=1)),
           ref[3].copy()]
    return np.stack(gen), np.stack(ref)


def _sk_ssim(a, b, protocol):
    if protocol == "standard":
        return skm.structural_similarity(a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                         use_sample_covariance=False, data_range=255)
    from skimage.util import img_as_float

    return skm.structural_similarity(img_as_float(a), img_as_float(b), channel_axis=-1, data_range=2)


def test_psnr_equals_skimage(pairs):
    gen, ref = pairs
    ours = psnr_batch(gen, ref)
    want = np.array([skm.peak_signal_noise_ratio(r, g, data_range=255) for g, r in zip(gen, ref, strict=True)])
    np.testing.assert_allclose(ours[:3], want[:3], rtol=1e-12)
    assert ours[3] == np.inf and want[3] == np.inf          # identical frames: inf, as skimage
    assert psnr(gen[0], ref[0]) == pytest.approx(want[0], rel=1e-12)
    assert 20 < ours[0] < 40 and ours[0] != ours[1]


@pytest.mark.parametrize("protocol", ["standard", "fomm"])
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_ssim_equals_skimage(pairs, protocol, backend):
    gen, ref = pairs
    ours = ssim_batch(gen, ref, protocol=protocol, backend=backend)
    want = np.array([_sk_ssim(g, r, protocol) for g, r in zip(gen, ref, strict=True)])
    np.testing.assert_allclose(ours, want, rtol=1e-9)
    assert ours[3] == pytest.approx(1.0) and ours[0] < 0.95
    assert ssim(gen[1], ref[1], protocol=protocol) == pytest.approx(want[1], rel=1e-9)


def test_protocols_differ(pairs):
    gen, ref = pairs
    assert np.all(np.abs(ssim_batch(gen[:3], ref[:3]) - ssim_batch(gen[:3], ref[:3], protocol="fomm")) > 1e-3)


def test_registry_objects(pairs):
    gen, ref = pairs
    m = create_metric("ssim", protocol="fomm")
    assert "fomm" in m.spec.protocol and m.spec.full_reference and not m.spec.lower_is_better
    out = m(gen, ref)
    assert out.dtype == np.float64 and out.shape == (4,)
    np.testing.assert_array_equal(out, ssim_batch(gen, ref, protocol="fomm"))
    p = create_metric("psnr")
    np.testing.assert_array_equal(p(gen, ref), psnr_batch(gen, ref))
    with pytest.raises(KitError, match="reference"):
        p(gen)


def test_input_errors(pairs):
    gen, ref = pairs
    with pytest.raises(MediaError, match="differ in shape"):
        psnr_batch(gen, ref[:, :100])
    with pytest.raises(MediaError, match="uint8"):
        ssim_batch(gen.astype(np.float32) / 255, ref)          # never clipped or rescaled silently
    with pytest.raises(NotComputable, match="11-px"):
        ssim_batch(gen[:, :10, :10], ref[:, :10, :10])
    with pytest.raises(KitError, match="unknown protocol"):
        ssim(gen[0], ref[0], protocol="matlab")
