"""lawdnet.mouth_mask against the LawDNet authors' SmoothSqMask (tests/data/golden/lawdnet_align.*)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lawdnet import face_align as fa
from lawdnet import mouth_mask as mm

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"


@pytest.fixture(scope="module")
def arrays():
    with np.load(GOLDEN / "lawdnet_align.npz") as npz:
        return dict(npz)


@pytest.mark.parametrize("size", [(468, 360), (104, 80), (60, 50)])
def test_mask_matches_authors(arrays, size):
    """Measured 2.4e-7, 1.8e-7, 3.0e-7 (float32 rounding)."""
    h, w = size
    theirs = arrays[f"mask_{h}x{w}"]
    ours = mm.mouth_mask(h, w)[0, 0].numpy()
    if theirs.shape != ours.shape:                                     # stored every 6th pixel
        ours = ours[::6, ::6]
    assert np.abs(ours - theirs).max() <= 1e-6


def test_masked_aligned_faces_match_authors(arrays):
    """SmoothSqMask()(aligned / 255) with the authors' aligned faces (our warp, bit-identical to theirs)."""
    from skimage.data import astronaut

    frames = torch.from_numpy(astronaut().astype(np.float32).transpose(2, 0, 1)).repeat(3, 1, 1, 1)
    for out_w in (360, 80):
        aligned = fa.warp_faces(frames, torch.from_numpy(arrays[f"matrices_{out_w}"]), out_w)
        masked = mm.mask_mouth(aligned / 255.0)
        assert np.abs(masked.double().mean((2, 3)).numpy() - arrays[f"masked_{out_w}_means"]).max() <= 1e-6
    assert np.abs(masked.numpy()[:, :, ::4, ::4] - arrays["masked_80_grid"]).max() <= 1e-6


def test_canvas_geometry():
    assert mm.canvas_rows_cols() == ((32, 96), (8, 72))
    small = mm.blurred_canvas()
    assert small.shape == (99, 76)
    assert small.max() == pytest.approx(1.0) and small.min() == 0.0
    # output (r, c) is the blur of canvas rows r..r+4, cols c..c+4; ones on canvas rows 32..95, cols 8..71
    assert small[32:92, 8:68].min() == pytest.approx(1.0)
    assert small[:28].max() == 0 and small[96:].max() == 0 and small[:, :4].max() == 0 and small[:, 72:].max() == 0
    assert 0 < small[28:32, 40].min() and small[28:32, 40].max() < 1 and 0 < small[92:96, 40].min() < 1


def test_mask_is_cached_per_size_and_device():
    a = mm.mouth_mask(104, 80)
    assert mm.mouth_mask(104, 80) is a
    assert mm.mouth_mask(104, 80, torch.device("cpu")) is a
    assert mm.keep_weights(104, 80) is mm.keep_weights(104, 80)
    assert mm.mouth_mask(468, 360) is not a
    assert mm.mouth_mask(104, 80, dtype=torch.float64).dtype == torch.float64


def test_mask_mouth_shapes_and_values():
    faces = torch.rand(2, 3, 104, 80)
    out = mm.mask_mouth(faces)
    keep = 1 - mm.mouth_mask(104, 80)
    assert torch.allclose(out, faces * keep)
    assert torch.allclose(mm.mask_mouth(faces[0]), out[0])
    assert out[:, :, 60, 40].abs().max() == 0                            # the mouth is blacked out
    assert torch.equal(out[:, :, 2, 2], faces[:, :, 2, 2])               # the forehead kept
    with pytest.raises(ValueError):
        mm.mask_mouth(torch.zeros(104, 80))


@pytest.mark.parametrize("size", [(104, 80), (468, 360), (832, 640)])
def test_antialias_does_not_matter_for_lawdnet_sizes(size):
    """Every LawDNet crop is at least 99 x 76: the resize is an upscale, where torchvision's antialias changes
    nothing (the authors' torchvision era may have had antialias off)."""
    small = torch.from_numpy(mm.blurred_canvas()).float()[None, None]
    plain = F.interpolate(small, size=size, mode="bilinear", align_corners=False, antialias=False)
    assert (plain - mm.mouth_mask(*size)).abs().max() <= 1e-6
