"""The released FID Inception (pt_inception-2015-12-05) on a known image set, against pytorch-fid (`pytest -m weights`).

The known set: scikit-image's bundled photos (astronaut, chelsea, coffee, rocket, camera, …), written as PNG. With
the real weights file present in ``TALKINGFACE_CHECKPOINTS`` (manifest ``fid_inception``), the kit's pool3 statistics
(mean and covariance of the 2048-d features) equal those pytorch-fid's own InceptionV3 computes from the same files
with the same weights (found through a TORCH_HOME made for it). Skipped, naming the file, when it is absent.
"""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.weights

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "cat", "immunohistochemistry", "page")


def _real_inception():
    from talkingface.weights import weight_path

    path = weight_path("fid_inception", required=False)
    if not path.is_file():
        pytest.skip(f"real weights missing: fid_inception ({path})")
    return path


def test_pool3_statistics_of_skimage_photos_equal_pytorch_fid(tmp_path, monkeypatch):
    from pytorch_fid.fid_score import calculate_activation_statistics
    from pytorch_fid.inception import InceptionV3
    from skimage import data

    from talkingface.media import read_image, write_image
    from talkingface.metrics.fid import FidMetric
    from talkingface.metrics.protocols import SPECS

    weights = _real_inception()
    hub = tmp_path / "torch_home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / weights.name).symlink_to(weights)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    files = []
    for name in PHOTOS:
        image = getattr(data, name)()
        image = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]
        files.append(write_image(tmp_path / "set" / f"{name}.png", image))

    reference = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()     # batch 1: the photos differ in size
    mu_ref, sigma_ref = calculate_activation_statistics([str(f) for f in files], reference, batch_size=1,
                                                        dims=2048, device="cpu", num_workers=0)
    metric = FidMetric(SPECS["fid"], weights=weights, dims=2048, batch_size=4)
    feats = np.concatenate([metric.features(read_image(f)[None]) for f in files]).astype(np.float64)
    mu, sigma = feats.mean(axis=0), np.cov(feats, rowvar=False)
    np.testing.assert_allclose(mu, mu_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sigma, sigma_ref, rtol=1e-3, atol=1e-5)
