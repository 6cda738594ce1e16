"""Deterministic real images for the metric tests and calibrations (scikit-image's sample photos).

``make_image(recipe)`` returns an (H,W,3) uint8 RGB array; ``image_sha256`` identifies it, so a calibration
file can tell when an image drifted (another scikit-image version) instead of silently comparing other pixels.
"""
from __future__ import annotations

import hashlib

import numpy as np

RECIPES = {
    "astronaut": "skimage.data.astronaut()",
    "camera_rgb": "skimage.data.camera() stacked to 3 channels",
    "chelsea": "skimage.data.chelsea()",
    "coffee": "skimage.data.coffee()",
    "astronaut_crop_half": "astronaut[32:480, 16:496], 2x2 block mean, rounded half up",
    "coffee_noisy": "coffee + N(0, 10) from numpy default_rng(0), rounded, clipped to 0..255",
    "chelsea_min": "chelsea[:192, :200] (smallest size NIQE accepts)",
}


def make_image(recipe: str) -> np.ndarray:
    from skimage import data

    if recipe == "astronaut":
        return data.astronaut()
    if recipe == "camera_rgb":
        return np.repeat(data.camera()[..., None], 3, axis=-1)
    if recipe == "chelsea":
        return data.chelsea()
    if recipe == "coffee":
        return data.coffee()
    if recipe == "astronaut_crop_half":
        crop = data.astronaut()[32:480, 16:496].astype(np.float64)
        half = crop.reshape(224, 2, 240, 2, 3).mean(axis=(1, 3))
        return np.floor(half + 0.5).astype(np.uint8)
    if recipe == "coffee_noisy":
        img = data.coffee().astype(np.float64)
        noise = np.random.default_rng(0).normal(0.0, 10.0, img.shape)
        return np.clip(np.round(img + noise), 0, 255).astype(np.uint8)
    if recipe == "chelsea_min":
        return np.ascontiguousarray(data.chelsea()[:192, :200])
    raise KeyError(f"unknown image recipe {recipe!r}; known: {', '.join(RECIPES)}")


def image_sha256(img: np.ndarray) -> str:
    arr = np.ascontiguousarray(img, dtype=np.uint8)
    return hashlib.sha256(repr(arr.shape).encode() + arr.tobytes()).hexdigest()


def crops(n: int, size: int = 96, seed: int = 0) -> list[np.ndarray]:
    """``n`` deterministic size×size crops of the colour sample photos (for set metrics such as FID)."""
    from skimage import data

    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = photos[i % len(photos)]
        y = int(rng.integers(0, img.shape[0] - size + 1))
        x = int(rng.integers(0, img.shape[1] - size + 1))
        out.append(np.ascontiguousarray(img[y:y + size, x:x + size]))
    return out


def pool3_like_features(n: int, dims: int, seed: int, shift: float = 0.0) -> np.ndarray:
    """(n, dims) non-negative, correlated rows with a decaying spectrum, like InceptionV3 pool3 activations (ReLU
    then average pool): FID statistics with full-rank covariances when n > dims (tests, bench_fid_distance.py)."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(dims, dims)) * (1.0 / np.arange(1, dims + 1)) ** 0.7
    return np.maximum(rng.normal(shift, 1.0, size=(n, dims)) @ mix.T, 0.0)
