"""lawdnet.paste: the authors' integer paste (golden, exact) and our feathered bilinear paste (properties)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter, map_coordinates

from lawdnet import face_align as fa
from lawdnet import mouth_mask as mm
from lawdnet import paste

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
OUT_WS = (360, 80)


@pytest.fixture(scope="module")
def golden():
    from skimage.data import astronaut

    doc = json.loads((GOLDEN / "lawdnet_align.json").read_text())
    with np.load(GOLDEN / "lawdnet_align.npz") as npz:
        arrays = dict(npz)
    frames = torch.from_numpy(astronaut().astype(np.float32).transpose(2, 0, 1)).repeat(3, 1, 1, 1)
    return doc, arrays, frames


def pattern(out_w: int, batch: int = 3) -> torch.Tensor:
    """make_golden_align's crop: float32 ((7 i + 13 j + 85 c + 31 b) % 256)."""
    i, j, c, b = np.ogrid[:int(1.3 * out_w), :out_w, :3, :batch]
    return torch.from_numpy(((7 * i + 13 * j + 85 * c + 31 * b) % 256).transpose(3, 2, 0, 1).astype(np.float32))


def crop_positions(matrices, frame_size, crop_size):
    """(B, H, W) crop x, y of every frame pixel under the warp that really ran."""
    eff = fa.effective_matrices(matrices, frame_size, crop_size)
    ys, xs = np.mgrid[:frame_size[0], :frame_size[1]].astype(np.float64)
    qx = eff[:, 0, 0, None, None] * xs + eff[:, 0, 1, None, None] * ys + eff[:, 0, 2, None, None]
    qy = eff[:, 1, 0, None, None] * xs + eff[:, 1, 1, None, None] * ys + eff[:, 1, 2, None, None]
    return qx, qy, eff


@pytest.mark.parametrize("out_w", OUT_WS)
def test_authors_paste_is_exact(golden, out_w):
    doc, arrays, frames = golden
    before = frames.clone()
    out = paste.paste_back_authors(pattern(out_w), frames, torch.from_numpy(arrays[f"matrices_{out_w}"]))
    assert torch.equal(frames, before)
    digest = hashlib.sha256(np.ascontiguousarray(out.numpy(), dtype="<f4").tobytes()).hexdigest()
    changed = (out != frames).any(dim=1).sum(dim=(1, 2)).tolist()
    assert changed == doc["checks"][f"recovered_{out_w}_changed_pixels"]
    assert np.abs(out.double().sum(-1).numpy() - arrays[f"recovered_{out_w}_rowsums"]).max() <= 1e-6
    assert digest == doc["checks"][f"recovered_{out_w}_sha256"]


def test_authors_paste_single_frame_keeps_input(golden):
    _, arrays, frames = golden
    one = frames[:1].clone()
    out = paste.paste_back_authors(pattern(80, 1), one, torch.from_numpy(arrays["matrices_80"][:1]))
    assert torch.equal(one, frames[:1]) and not torch.equal(out, one)


def test_authors_paste_outside_frame():
    m = torch.tensor([[[1.0, 0, -400], [0, 1, 0], [0, 0, 1]]])                  # crop x = frame x - 400
    gen, frame = torch.full((1, 3, 104, 80), 200.0), torch.zeros(1, 3, 110, 450)
    with pytest.raises(ValueError, match="outside='drop'"):
        paste.paste_back_authors(gen, frame, m)
    out = paste.paste_back_authors(gen, frame, m, outside="drop")
    # their float32 index arithmetic truncates some x + 0.99999 down: whole rows / columns of holes (20-35 %) even
    # for a pure shift
    assert out[0, :, :, :400].eq(0).all() and out[0, :, :104, 400:].eq(200).float().mean() > 0.5
    m_left = torch.tensor([[[1.0, 0, 20], [0, 1, 0], [0, 0, 1]]])               # crop x = frame x + 20
    out = paste.paste_back_authors(gen, frame, m_left)                         # negative x wrap, as theirs
    assert out[0, 0, :104, 430:].eq(200).float().mean() > 0.5 and out[0, 0, :104, :60].eq(200).float().mean() > 0.5
    assert out[0, 0, :, 60:430].eq(0).all()
    out = paste.paste_back_authors(gen, frame, m_left, outside="drop")
    assert out[0, 0, :, 430:].eq(0).all()


def smooth_crop(out_w: int, batch: int = 3) -> torch.Tensor:
    """A smooth generated crop (slope < 6 grey levels per pixel), so float32 grid rounding stays below 1e-3."""
    i, j, c, b = np.ogrid[:int(1.3 * out_w), :out_w, :3, :batch]
    crop = 127.5 + 100 * np.sin(0.05 * i + 0.03 * j + c + b)
    return torch.from_numpy(crop.transpose(3, 2, 0, 1).astype(np.float32))


@pytest.mark.parametrize("out_w", OUT_WS)
def test_feathered_paste_regions(golden, out_w):
    """Outside the crop: the frame, bit for bit; over the mouth mask: the generated crop sampled at the inverse of
    the warp that ran; between: a blend."""
    _, arrays, frames = golden
    m = torch.from_numpy(arrays[f"matrices_{out_w}"])
    h, w = fa.aligned_size(out_w)
    gen = smooth_crop(out_w)
    out = paste.paste_back(gen, frames, m)
    assert out.shape == frames.shape
    qx, qy, _ = crop_positions(m, (512, 512), (h, w))
    outside = (qx <= -0.5) | (qx >= w - 0.5) | (qy <= -0.5) | (qy >= h - 0.5)
    assert outside.any() and (~outside).any()
    keep = torch.from_numpy(outside)[:, None].expand_as(out)
    assert torch.equal(out[keep], frames[keep])
    mouth = mm.mouth_mask(h, w)[0, 0].double().numpy()
    margin = paste.FEATHER * w
    for b in range(3):
        inner = ((qx[b] > margin - 0.5) & (qx[b] < w - 0.5 - margin)
                 & (qy[b] > margin - 0.5) & (qy[b] < h - 0.5 - margin))
        over_mouth = inner & (map_coordinates(mouth, [qy[b], qx[b]], order=1, mode="nearest") > 0)
        assert over_mouth.sum() > 100
        for c in range(3):
            ref = map_coordinates(gen[b, c].double().numpy(), [qy[b][over_mouth], qx[b][over_mouth]], order=1,
                                  mode="nearest")
            assert np.abs(out[b, c].numpy()[over_mouth] - ref).max() <= 1e-3
        blend = ~outside[b] & ~inner
        assert blend.any()


def test_mouth_mask_lies_inside_the_full_alpha():
    for out_w in (80, 160, 320, 360):
        h, w = fa.aligned_size(out_w)
        ys, xs = torch.meshgrid(torch.arange(h).double(), torch.arange(w).double(), indexing="ij")
        alpha = paste.crop_alpha(xs, ys, (h, w), paste.FEATHER * w)
        assert alpha[mm.mouth_mask(h, w, dtype=torch.float64)[0, 0] > 0].min() == 1


@pytest.mark.parametrize("out_w", OUT_WS)
def test_feathered_seam_is_continuous(golden, out_w):
    """White crop on a black frame: neighbouring pixels differ by at most the alpha's slope (smoothstep: 1.5 /
    feather per crop pixel, times crop pixels per frame pixel); the authors' paste jumps by the full 255."""
    _, arrays, _ = golden
    m = torch.from_numpy(arrays[f"matrices_{out_w}"])
    h, w = fa.aligned_size(out_w)
    gen, black = torch.full((3, 3, h, w), 255.0), torch.zeros(3, 3, 512, 512)
    _, _, eff = crop_positions(m, (512, 512), (h, w))
    scale = np.hypot(eff[:, 0, 0], eff[:, 0, 1]).max()
    bound = 255 * 1.5 / (paste.FEATHER * w) * scale * 1.01

    def jump(img):
        return max((img[..., 1:, :] - img[..., :-1, :]).abs().max().item(),
                   (img[..., 1:] - img[..., :-1]).abs().max().item())

    assert jump(paste.paste_back(gen, black, m)) <= min(bound, 200)
    assert jump(paste.paste_back_authors(gen, black, m)) == 255


def test_round_trip_reproduces_the_face(golden):
    """Warp then paste of the unmodified aligned crop (smooth frame, face upscaled ~2.8x in the crop)."""
    _, arrays, frames = golden
    smooth = torch.from_numpy(gaussian_filter(frames[0].numpy(), (0, 2, 2))).repeat(3, 1, 1, 1)
    m = torch.from_numpy(arrays["matrices_360"])
    out = paste.paste_back(fa.warp_faces(smooth, m, 360), smooth, m)
    qx, qy, _ = crop_positions(m, (512, 512), fa.aligned_size(360))
    inside = torch.from_numpy((qx > 11) & (qx < 348) & (qy > 11) & (qy < 456))[:, None].expand_as(out)
    err = (out - smooth).abs()[inside]
    assert err.max() <= 3.0 and err.mean() <= 0.3                               # measured 1.6, 0.13


def test_large_frame_only_the_box_changes(golden):
    """A 1080p frame: only the crop's bounding box is computed; the rest is the input."""
    _, arrays, _ = golden
    frame = torch.rand(1, 3, 1080, 1920) * 255
    lms = arrays["landmarks"][:1] * 1.5 + np.float32([700, 300])
    m = fa.align_matrices(lms, 360)
    gen = fa.warp_faces(frame, m, 360) * 0.5
    out = paste.paste_back(gen, frame, m)
    top, bottom, left, right = paste.crop_box(np.linalg.inv(fa.effective_matrices(m, (1080, 1920), (468, 360))[0]),
                                              (1080, 1920), (468, 360))
    assert 0 < top < bottom < 1080 and 0 < left < right < 1920 and (bottom - top) * (right - left) < 1080 * 1920 / 8
    outside = torch.ones(1080, 1920, dtype=torch.bool)
    outside[top:bottom, left:right] = False
    assert torch.equal(out[..., outside], frame[..., outside])
    assert not torch.equal(out[..., top:bottom, left:right], frame[..., top:bottom, left:right])


def test_paste_checks_shapes_and_leaves_inputs():
    gen, frames = torch.zeros(2, 3, 104, 80), torch.ones(2, 3, 64, 64)
    with pytest.raises(ValueError):
        paste.paste_back(gen[:1], frames, torch.eye(3).repeat(2, 1, 1))
    before = frames.clone()
    paste.paste_back(gen, frames, torch.eye(3).repeat(2, 1, 1))
    assert torch.equal(frames, before)
