"""FID's resize to 299 px is pytorch-fid's: bilinear, align_corners=False, no antialias, on images larger and smaller.

tests/metrics/test_fid.py compares with pytorch-fid on 96-120 px crops, which are only ever enlarged, and torch's
``antialias`` changes nothing when enlarging. Here the first block (dims 64, right after the resize and the [-1, 1]
scaling) of the kit's FID-Inception is compared with pytorch-fid's own ``InceptionV3`` (same random weights) on a
512x512 photo (shrunk), a 300x451 photo (one side shrunk, one enlarged) and a 160x200 crop (enlarged), so that an
antialiased or corner-aligned resize, or a missing input scaling, cannot pass.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("pytorch_fid")


def images() -> dict[str, np.ndarray]:
    from skimage import data

    return {"astronaut 512x512": data.astronaut(), "chelsea 451x300": data.chelsea(),
            "coffee crop 200x160": np.ascontiguousarray(data.coffee()[100:260, 150:350])}


def test_first_block_equals_pytorch_fid_on_shrunk_and_enlarged_images(fid_weights, monkeypatch):
    from pytorch_fid.inception import InceptionV3

    from talkingface.metrics import create_metric

    monkeypatch.setenv("TORCH_HOME", str(fid_weights["torch_home"]))
    reference = InceptionV3([0], resize_input=True, normalize_input=True).eval()
    metric = create_metric("fid", weights=fid_weights["path"], dims=64)
    for name, img in images().items():
        with torch.no_grad():
            x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
            want = torch.nn.functional.adaptive_avg_pool2d(reference(x)[0], (1, 1)).flatten(1).double().numpy()
        ours = metric.features(img[None])
        assert ours.shape == (1, 64)
        assert np.abs(want).max() > 0.1, "features too small for the comparison to mean anything"
        np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-6, err_msg=name)
