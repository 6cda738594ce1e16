"""Colour order through the evaluator: red-heavy videos scored by every image metric equal the references on frames
decoded independently as RGB (the pinned ffmpeg's rgb24 pipe, not the kit's reader).

The channels differ strongly (red bright and textured, green mid, blue dark, each with its own pattern; the generated
video distorts each channel differently), so an R/B swap in the evaluator changes NIQE (gray = 0.299 R + 0.587 G +
0.114 B), LPIPS and FID (networks whose first layer weighs the channels differently). PSNR and SSIM average over the
channels, so a swap of both videos leaves them unchanged; they are checked for the pairing and the values.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from evaluate_helpers import sample_by_name
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

SIZE = 192                       # NIQE needs >= 192 px
FRAMES = 2


def red_heavy(seed: int, n: int = FRAMES, size: int = SIZE) -> np.ndarray:
    """(n, size, size, 3) uint8: R 120..250 (photo texture), G 40..140 (stripes), B 5..45 (blobs), moving."""
    import cv2
    from skimage import data

    rng = np.random.default_rng(seed)
    photo = cv2.resize(data.camera(), (size, size), interpolation=cv2.INTER_AREA).astype(np.float64) / 255
    y, x = np.mgrid[0:size, 0:size] / size
    out = []
    for k in range(n):
        r = 120 + 130 * np.roll(photo, 4 * k + seed, axis=1)
        g = 90 + 50 * np.sin(2 * np.pi * (6 * x + 2 * y + 0.1 * k + 0.37 * seed))
        b = 25 + 20 * np.cos(2 * np.pi * (3 * x * y + 0.2 * k)) + rng.normal(0, 2, (size, size))
        out.append(np.stack([r, g, b], -1))
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def distort(frames: np.ndarray, seed: int) -> np.ndarray:
    """Each channel its own damage: red blurred and brightened, green noisy, blue shifted."""
    import cv2

    rng = np.random.default_rng(seed)
    out = frames.astype(np.float64)
    for k in range(len(out)):
        out[k, ..., 0] = cv2.GaussianBlur(out[k, ..., 0], (0, 0), 2.0) + 10
        out[k, ..., 1] += rng.normal(0, 12, out.shape[1:3])
        out[k, ..., 2] = np.roll(out[k, ..., 2], 5, axis=0)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def rgb24(path: Path) -> np.ndarray:
    """Every frame of ``path`` as RGB, decoded by the pinned ffmpeg binary (independent of talkingface.media)."""
    from talkingface.media import ffmpeg_exe

    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, SIZE, SIZE, 3).copy()


@pytest.fixture
def colour_set(tmp_path) -> Path:
    from talkingface.media import VideoWriter

    base = tmp_path / "evaluation_set"
    for d in ("gt_self", "generate_red_self"):
        (base / d).mkdir(parents=True)
    for i in range(2):
        gt = red_heavy(i)
        for folder, frames in (("gt_self", gt), ("generate_red_self", distort(gt, seed=10 + i))):
            with VideoWriter(base / folder / f"c{i}.mp4", 25) as w:
                w.write(frames)
    return base


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Matrix is singular")   # 4 frames of 64-d features: rank-deficient
def test_colour_asymmetric_videos_equal_the_references(colour_set, run_eval, weights_dir, tmp_path):
    from pytorch_fid.fid_score import calculate_frechet_distance

    from talkingface.metrics import create_metric, niqe

    results, _ = run_eval(colour_set, metrics=["niqe", "ssim", "psnr", "lpips", "fid"], fid_dims=64)
    run = results["runs"][0]
    assert run["n_evaluated"] == 2 and run["n_failed"] == 0

    gens = [rgb24(colour_set / "generate_red_self" / f"c{i}.mp4") for i in range(2)]
    gts = [rgb24(colour_set / "gt_self" / f"c{i}.mp4") for i in range(2)]
    red, green, blue = (float(gens[0][..., c].mean()) for c in range(3))
    assert red > 1.5 * green and green > 2.5 * blue                     # still red-heavy after H.264 (~186/90/24)
    lpips = create_metric("lpips")
    per_sample = {"niqe": [], "lpips": []}
    for i, (gen, gt) in enumerate(zip(gens, gts, strict=True)):
        s = sample_by_name(run, f"c{i}")
        assert s["n_frames"] == len(gen) == len(gt) == FRAMES
        psnr = np.mean([peak_signal_noise_ratio(g, r, data_range=255) for g, r in zip(gt, gen, strict=True)])
        ssim = np.mean([structural_similarity(g, r, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                              use_sample_covariance=False, data_range=255)
                        for g, r in zip(gen, gt, strict=True)])
        assert s["values"]["psnr"] == pytest.approx(psnr, rel=1e-9)
        assert s["values"]["ssim"] == pytest.approx(ssim, abs=1e-6)
        per_sample["niqe"].append(np.mean([niqe(g) for g in gen]))
        per_sample["lpips"].append(float(np.mean(lpips(gen, gt))))
        assert s["values"]["niqe"] == pytest.approx(per_sample["niqe"][-1], rel=1e-5), "niqe"
        assert s["values"]["lpips"] == pytest.approx(per_sample["lpips"][-1], rel=1e-5), "lpips"
    for name in ("niqe", "lpips"):
        assert run["metrics"][name]["value"] == pytest.approx(np.mean(per_sample[name]), rel=1e-5), name

    fid = create_metric("fid", dims=64)
    feats = [fid.features(np.concatenate(frames)) for frames in (gens, gts)]
    expected = calculate_frechet_distance(*[(f.mean(0), np.cov(f, rowvar=False)) for f in feats][0],
                                          *[(f.mean(0), np.cov(f, rowvar=False)) for f in feats][1])
    m = run["metrics"]["fid"]
    assert (m["n"], m["n_reference"]) == (2 * FRAMES, 2 * FRAMES)
    assert m["value"] == pytest.approx(expected, rel=1e-5), "fid"
