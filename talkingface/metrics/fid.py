"""FID with the pytorch-fid protocol (DESIGN §3), weights from the kit's file only.

The network is pytorch-fid's FID-Inception (torchvision Inception-v3 with pytorch_fid.inception's
``FIDInceptionA/C/E_1/E_2`` blocks, 1008 classes, no aux head), loaded strictly from
``pt_inception-2015-12-05-6726825d.pth`` (manifest ``fid_inception``) — never downloaded. Like
``pytorch_fid.inception.InceptionV3``: float32 RGB in [0,1] → bilinear resize to 299 (align_corners=False, no
antialias) → 2x-1 → blocks up to pool3 (2048-d; 64/192/768 for the earlier blocks, average-pooled).
Statistics: float64 mean and sample covariance (``np.cov``), accumulated per batch (Chan's merge, so a set is
never held in memory); Fréchet distance with ``scipy.linalg.sqrtm`` and pytorch-fid's 1e-6 diagonal offset
when the product is singular. With fewer than 2048 images the covariance is rank-deficient: the result carries a
warning, and N is always reported.
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from talkingface.errors import KitError, MediaError, WeightsError
from talkingface.fsutil import write_bytes_atomic
from talkingface.metrics.base import (
    MetricSpec,
    NotComputable,
    SetResult,
    as_uint8_batch,
    load_state_dict,
    load_strict,
    resolve_weights,
)

BLOCK_INDEX_BY_DIM = {64: 0, 192: 1, 768: 2, 2048: 3}
IMAGE_EXTENSIONS = ("bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp")  # pytorch-fid's list
CACHE_VERSION = 1


class FidInception(nn.Module):
    """pytorch-fid's InceptionV3 feature extractor (one output block), built without any download."""

    def __init__(self, dims: int = 2048):
        super().__init__()
        if dims not in BLOCK_INDEX_BY_DIM:
            raise KitError(f"fid: dims must be one of {sorted(BLOCK_INDEX_BY_DIM)}, got {dims}")
        import torchvision
        from pytorch_fid.inception import FIDInceptionA, FIDInceptionC, FIDInceptionE_1, FIDInceptionE_2

        net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
        net.Mixed_5b = FIDInceptionA(192, pool_features=32)
        net.Mixed_5c = FIDInceptionA(256, pool_features=64)
        net.Mixed_5d = FIDInceptionA(288, pool_features=64)
        net.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        net.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        net.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        net.Mixed_7b = FIDInceptionE_1(1280)
        net.Mixed_7c = FIDInceptionE_2(2048)
        self.inception = net
        self.last_block = BLOCK_INDEX_BY_DIM[dims]

    def blocks(self) -> list[nn.Sequential]:
        n = self.inception
        pool = nn.MaxPool2d(kernel_size=3, stride=2)
        return [
            nn.Sequential(n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3, pool),
            nn.Sequential(n.Conv2d_3b_1x1, n.Conv2d_4a_3x3, pool),
            nn.Sequential(n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a, n.Mixed_6b, n.Mixed_6c, n.Mixed_6d,
                          n.Mixed_6e),
            nn.Sequential(n.Mixed_7a, n.Mixed_7b, n.Mixed_7c, nn.AdaptiveAvgPool2d(output_size=(1, 1))),
        ][: self.last_block + 1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B,3,H,W) float32 in [0,1] → (B, dims) features."""
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        for block in self.blocks():
            x = block(x)
        if x.shape[2] != 1 or x.shape[3] != 1:
            x = F.adaptive_avg_pool2d(x, output_size=(1, 1))
        return x.flatten(1)


def load_fid_inception(weights=None, dims: int = 2048, device: str = "cpu") -> FidInception:
    """FID-Inception with the state dict of ``weights`` (default: manifest ``fid_inception``), loaded strictly."""
    path = resolve_weights("fid_inception", weights)
    state = load_state_dict(path)
    with torch.device("meta"):          # no random init of 27M parameters: the file's tensors are taken over
        model = FidInception(dims)
    load_strict(model.inception, state, path, assign=True)
    if any(t.is_meta for t in list(model.parameters()) + list(model.buffers())):
        raise WeightsError(f"{path}: state dict left tensors of the FID-Inception uninitialised")
    return model.eval().to(device)


class RunningStats:
    """Float64 mean and sample covariance of feature rows, merged batch by batch (Chan et al.)."""

    def __init__(self, dims: int):
        self.n = 0
        self.mean = np.zeros(dims)
        self.m2 = np.zeros((dims, dims))

    def update(self, feats: np.ndarray) -> None:
        feats = np.asarray(feats, dtype=np.float64)
        k = len(feats)
        if k == 0:
            return
        mean_b = feats.mean(0)
        centred = feats - mean_b
        m2_b = centred.T @ centred
        delta = mean_b - self.mean
        total = self.n + k
        self.m2 += m2_b + np.outer(delta, delta) * (self.n * k / total)
        self.mean = self.mean + delta * (k / total)
        self.n = total

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        if self.n < 2:
            raise NotComputable(f"FID needs at least 2 images per set, got {self.n}")
        return self.mean.copy(), self.m2 / (self.n - 1)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """pytorch-fid's ``calculate_frechet_distance`` (scipy sqrtm, offset when singular, real part)."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise KitError(f"fid: statistics of different dimensions ({mu1.shape} vs {mu2.shape})")
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise NotComputable(f"fid: sqrtm has an imaginary component {np.max(np.abs(covmean.imag)):.3g}")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def list_images(folder) -> list[Path]:
    """Image files of a folder as pytorch-fid finds them (its extensions, sorted)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MediaError(f"{folder}: not a folder of images")
    return sorted(p for ext in IMAGE_EXTENSIONS for p in folder.glob(f"*.{ext}"))


def fingerprint_files(paths: Iterable) -> str:
    """sha256 over (name, size, mtime) of each file: the reference-set identity stored in the cache."""
    h = hashlib.sha256()
    for p in sorted(Path(p) for p in paths):
        st = p.stat()
        h.update(f"{p.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _weights_identity(path: Path) -> str:
    st = path.stat()
    return f"{path.name}:{st.st_size}"


class FidMetric:
    """Set metric: add batches of both sets, then ``compute()``; reference statistics can be cached."""

    def __init__(self, spec: MetricSpec, device: str = "cpu", weights=None, dims: int = 2048, batch_size: int = 50):
        self.spec = spec
        self.device = torch.device(device)
        self.dims = dims
        self.batch_size = batch_size
        self.weights_path = resolve_weights("fid_inception", weights)
        self.model = load_fid_inception(self.weights_path, dims, self.device)
        self._gen = RunningStats(dims)
        self._ref = RunningStats(dims)
        self._ref_cached: tuple[np.ndarray, np.ndarray, int] | None = None

    # --- features -----------------------------------------------------------------------------------------
    def features(self, batch) -> np.ndarray:
        """(N,H,W,3) uint8 → (N, dims) float64 features, in batches of ``batch_size``."""
        arr = as_uint8_batch(batch, "fid input")
        out = []
        with torch.no_grad():
            for s in range(0, len(arr), self.batch_size):
                t = torch.from_numpy(np.ascontiguousarray(arr[s:s + self.batch_size])).to(self.device)
                x = t.permute(0, 3, 1, 2).float() / 255.0
                out.append(self.model(x).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dims))

    def add_generated(self, batch) -> None:
        self._gen.update(self.features(batch))

    def add_reference(self, batch) -> None:
        self.add_reference_features(self.features(batch))

    def add_generated_features(self, feats) -> None:
        """Add features from :meth:`features` (e.g. kept per sample so a resumed run need not re-encode)."""
        self._gen.update(self._check_features(feats))

    def add_reference_features(self, feats) -> None:
        if self._ref_cached is not None:
            raise KitError("fid: reference statistics came from a cache; do not add reference frames as well")
        self._ref.update(self._check_features(feats))

    def _check_features(self, feats) -> np.ndarray:
        arr = np.asarray(feats, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.dims:
            raise KitError(f"fid: features must be (N, {self.dims}), got {arr.shape}")
        return arr

    # --- cache --------------------------------------------------------------------------------------------
    def reference_from_cache(self, path, fingerprint: str | None = None) -> bool:
        """Use cached reference statistics if ``path`` exists and matches dims, weights (and ``fingerprint``)."""
        path = Path(path)
        if not path.is_file():
            return False
        try:
            with np.load(path, allow_pickle=False) as f:
                meta = {k: str(f[k]) for k in ("fingerprint", "weights", "protocol")}
                mu, sigma, n, version = f["mu"], f["sigma"], int(f["n"]), int(f["version"])
        except (OSError, ValueError, KeyError):
            return False  # unreadable or foreign cache: recompute (and overwrite on save)
        if version != CACHE_VERSION or mu.shape != (self.dims,) or meta["weights"] != _weights_identity(
                self.weights_path) or meta["protocol"] != self.spec.protocol:
            return False
        if fingerprint is not None and meta["fingerprint"] != fingerprint:
            return False
        self._ref_cached = (mu, sigma, n)
        return True

    def save_reference_cache(self, path, fingerprint: str | None = None) -> Path:
        """Write the reference statistics (mu, sigma, n, fingerprint) to ``path`` atomically."""
        mu, sigma, n = self._reference_stats()
        buf = io.BytesIO()
        np.savez(buf, mu=mu, sigma=sigma, n=np.int64(n), version=np.int64(CACHE_VERSION),
                 fingerprint=np.array(fingerprint or ""), weights=np.array(_weights_identity(self.weights_path)),
                 protocol=np.array(self.spec.protocol))
        return write_bytes_atomic(path, buf.getvalue())

    def _reference_stats(self) -> tuple[np.ndarray, np.ndarray, int]:
        if self._ref_cached is not None:
            return self._ref_cached
        mu, sigma = self._ref.stats()
        return mu, sigma, self._ref.n

    # --- result -------------------------------------------------------------------------------------------
    def compute(self) -> SetResult:
        mu_g, sigma_g = self._gen.stats()
        mu_r, sigma_r, n_ref = self._reference_stats()
        value = frechet_distance(mu_g, sigma_g, mu_r, sigma_r)
        n_min = min(self._gen.n, n_ref)
        warning = None
        if n_min < self.dims:
            warning = (f"N < {self.dims}: {self._gen.n} generated / {n_ref} reference images; the covariance is "
                       f"rank-deficient and FID is biased upwards (not comparable with full-size evaluations)")
        return SetResult(value=value, n_generated=self._gen.n, n_reference=n_ref, warning=warning)


def _iter_batches(images, batch_size: int):
    """Folder → same-size uint8 batches read with talkingface.images; iterable of arrays → same-size batches."""
    if isinstance(images, (str, os.PathLike)):
        from talkingface.images import read_image

        files = list_images(images)
        if not files:
            raise MediaError(f"{images}: no images ({', '.join(IMAGE_EXTENSIONS)})")
        source = (read_image(p) for p in files)
    else:
        source = iter(images)
    pending: list[np.ndarray] = []
    for img in source:
        img = np.asarray(img)
        if img.ndim == 4:
            yield as_uint8_batch(img)
            continue
        img = as_uint8_batch(img)[0]
        if pending and (img.shape != pending[0].shape or len(pending) >= batch_size):
            yield np.stack(pending)
            pending = []
        pending.append(img)
    if pending:
        yield np.stack(pending)


def fid(set_a, set_b, weights=None, dims: int = 2048, device: str = "cpu", batch_size: int = 50,
        reference_cache=None, return_result: bool = False):
    """FID between ``set_a`` (generated) and ``set_b`` (reference): folders or iterables of uint8 RGB arrays.

    ``reference_cache``: an .npz path for ``set_b``'s statistics; reused when it matches (file list + sizes +
    mtimes of a folder, the weights and the protocol), written otherwise. Returns the value, or the
    :class:`SetResult` (with N and the N < 2048 warning) when ``return_result``.
    """
    from talkingface.metrics.registry import get_spec

    metric = FidMetric(get_spec("fid"), device=device, weights=weights, dims=dims, batch_size=batch_size)
    fp = None
    if reference_cache is not None:
        if not isinstance(set_b, (str, os.PathLike)):
            raise KitError("fid: reference_cache needs set_b to be a folder (its files identify the cache)")
        fp = fingerprint_files(list_images(set_b))
    cached = reference_cache is not None and metric.reference_from_cache(reference_cache, fp)
    for batch in _iter_batches(set_a, batch_size):
        metric.add_generated(batch)
    if not cached:
        for batch in _iter_batches(set_b, batch_size):
            metric.add_reference(batch)
        if reference_cache is not None:
            metric.save_reference_cache(reference_cache, fp)
    result = metric.compute()
    if result.warning:
        import warnings

        warnings.warn(f"fid: {result.warning}", stacklevel=2)
    return result if return_result else result.value


__all__ = ["fid", "FidMetric", "FidInception", "load_fid_inception", "frechet_distance", "fingerprint_files",
           "list_images", "RunningStats", "WeightsError"]
