"""lawdnet.face_align against the LawDNet authors' FaceAlign (tests/data/golden/lawdnet_align.*) and on its own."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lawdnet import face_align as fa

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
OUT_WS = (360, 80)
STEP = {360: 8, 80: 4}


@pytest.fixture(scope="module")
def golden():
    doc = json.loads((GOLDEN / "lawdnet_align.json").read_text())
    with np.load(GOLDEN / "lawdnet_align.npz") as npz:
        arrays = dict(npz)
    from skimage.data import astronaut

    frame = astronaut().astype(np.float32).transpose(2, 0, 1)
    frames = np.ascontiguousarray(np.repeat(frame[None], len(doc["inputs"]["cases"]), axis=0))
    assert hashlib.sha256(frames.tobytes()).hexdigest() == doc["inputs"]["frames_sha256"], "skimage's astronaut changed"
    assert hashlib.sha256(arrays["landmarks"].tobytes()).hexdigest() == doc["inputs"]["landmarks_sha256"]
    return doc, arrays, torch.from_numpy(frames)


def test_template_normalisation():
    t = fa.template(1.6)
    raw = fa.TEMPLATE_25.astype(np.float64)
    up_y = (raw[2, 1] + raw[7, 1]) / 2
    height = raw[12, 1] - up_y
    assert t.shape == (25, 2)
    assert t[12, 0] == pytest.approx(0.0, abs=1e-12)                           # the nose on x = 0
    assert t[12, 1] - t[2, 1] == pytest.approx((raw[12, 1] - raw[2, 1]) / (1.6 * height))
    assert (t[2, 1] + t[7, 1]) / 2 == pytest.approx(-6.5 / 4 / 1.6)          # brows 6.5/4 heights above the origin
    pts = fa.template_points(360)
    assert np.allclose(pts, t * 180 + [180, 234])
    assert fa.aligned_size(360) == (468, 360) and fa.aligned_size(80) == (104, 80)
    assert fa.LANDMARKS_25 == (*range(17, 37), 39, 42, 45, 48, 54)


def test_similarity_lstsq_recovers_a_similarity():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 500, (2, 25, 2))
    a = np.deg2rad([13.0, -40.0])
    scale = np.array([0.7, 2.5])
    rot = np.stack([np.stack([np.cos(a), -np.sin(a)], -1), np.stack([np.sin(a), np.cos(a)], -1)], -2)
    dst = np.einsum("bij,bnj->bni", rot * scale[:, None, None], src) + np.array([[[10, -20]], [[300, 5]]])
    m = fa.similarity_lstsq(src, dst)
    moved = np.einsum("bij,bnj->bni", m[:, :2, :2], src) + m[:, None, :2, 2]
    assert np.abs(moved - dst).max() < 1e-6
    assert np.allclose(m[:, 2], [0, 0, 1])


def test_similarity_lstsq_is_the_least_squares_solution():
    """Noisy points: equal to a direct solve (the standardisation changes nothing but the 1e-8 ridge)."""
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 300, (1, 25, 2))
    dst = src * 1.7 + rng.normal(0, 5, src.shape)
    m = fa.similarity_lstsq(src, dst)[0]
    x, y = src[0, :, 0], src[0, :, 1]
    q = np.zeros((50, 4))
    q[0::2] = np.stack([x, y, np.ones(25), np.zeros(25)], 1)
    q[1::2] = np.stack([y, -x, np.zeros(25), np.ones(25)], 1)
    a, b, c, d = np.linalg.lstsq(q, dst[0].reshape(-1), rcond=None)[0]
    assert np.allclose(m[:2], [[a, b, c], [-b, a, d]], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("out_w", OUT_WS)
def test_matrices_match_authors(golden, out_w):
    _, arrays, _ = golden
    ours = fa.align_matrices(arrays["landmarks"], out_w).numpy()
    theirs = arrays[f"matrices_{out_w}"]
    assert ours.dtype == np.float32 and ours.shape == (3, 3, 3)
    assert np.abs(ours - theirs).max() / np.abs(theirs).max() <= 1e-4       # measured 1.8e-7 / 2.1e-7
    assert np.allclose(fa.align_matrices(torch.from_numpy(arrays["landmarks"]), out_w).numpy(), ours)


@pytest.mark.parametrize("out_w", OUT_WS)
def test_warp_matches_authors(golden, out_w):
    """Given the authors' matrices the warp is theirs (measured: bit-identical)."""
    _, arrays, frames = golden
    aligned = fa.warp_faces(frames, torch.from_numpy(arrays[f"matrices_{out_w}"]), out_w)
    assert tuple(aligned.shape) == (3, 3, *fa.aligned_size(out_w))
    s = STEP[out_w]
    assert np.abs(aligned.numpy()[:, :, ::s, ::s] - arrays[f"aligned_{out_w}_grid"]).max() <= 1e-3
    assert np.abs(aligned.double().mean((2, 3)).numpy() - arrays[f"aligned_{out_w}_means"]).max() <= 1e-4
    assert aligned.min() >= 0 and aligned.max() <= 255


@pytest.mark.parametrize("out_w", OUT_WS)
def test_end_to_end_matches_authors(golden, out_w):
    """Our float64 solve vs their float32 one moves the crop by ~1e-4 px: at most 0.008 grey on this photo."""
    _, arrays, frames = golden
    aligned = fa.warp_faces(frames, fa.align_matrices(arrays["landmarks"], out_w), out_w)
    s = STEP[out_w]
    assert np.abs(aligned.numpy()[:, :, ::s, ::s] - arrays[f"aligned_{out_w}_grid"]).max() <= 0.05


@pytest.mark.parametrize("out_w", OUT_WS)
def test_aligned_landmarks_match_authors(golden, out_w):
    _, arrays, _ = golden
    got = fa.align_landmarks(arrays["landmarks"], torch.from_numpy(arrays[f"matrices_{out_w}"])).numpy()
    assert np.abs(got - arrays[f"aligned_landmarks_{out_w}"]).max() <= 1e-4


def test_effective_matrix_is_the_warp_that_runs(golden):
    """Crop pixel q shows the frame at effective^-1 q (bilinear), not at matrix^-1 q."""
    from scipy.ndimage import map_coordinates

    _, arrays, frames = golden
    m = torch.from_numpy(arrays["matrices_80"])
    aligned = fa.warp_faces(frames, m, 80).numpy()
    eff = fa.effective_matrices(m, (512, 512), fa.aligned_size(80))
    ys, xs = np.mgrid[10:90:7, 5:75:7].astype(np.float64)
    for b in range(3):
        inv = np.linalg.inv(eff[b])
        sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
        sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
        ref = map_coordinates(frames[b, 0].double().numpy(), [sy, sx], order=1)
        assert np.abs(ref - aligned[b, 0, 10:90:7, 5:75:7]).max() < 0.05
        naive = np.linalg.inv(m[b].double().numpy())
        nx = naive[0, 0] * xs + naive[0, 1] * ys + naive[0, 2]
        assert 0.1 < np.abs(nx - sx).max() < 1.5                             # the sub-pixel offset is real


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="68, 2"):
        fa.align_matrices(np.zeros((2, 5, 2)), 80)
    with pytest.raises(ValueError, match="B, C, H, W"):
        fa.warp_faces(torch.zeros(3, 64, 64), torch.eye(3)[None], 80)


def test_uint8_frames_are_accepted(golden):
    _, arrays, frames = golden
    m = torch.from_numpy(arrays["matrices_80"])
    assert torch.equal(fa.warp_faces(frames.to(torch.uint8), m, 80), fa.warp_faces(frames, m, 80))
