"""FID with the pytorch-fid protocol (docs/architecture.md, "Protocols"), weights from the kit's file only.

The network (:mod:`talkingface.metrics.fid_inception`) is pytorch-fid's FID-Inception, never downloaded.
Statistics: float64 mean and sample covariance (``np.cov``), accumulated per batch (Chan's merge, so a set is
never held in memory); Fréchet distance with ``scipy.linalg.sqrtm`` and pytorch-fid's 1e-6 diagonal offset
when the product is singular — or, when both sets have more images than dims (full-rank covariances), with the
trace term from eigenvalues (:func:`trace_sqrt_product`), equal to the sqrtm value to 1e-6 relative and several
times faster; ``method`` chooses (``auto`` default, ``eig``, ``sqrtm``). With fewer than 2048 images the
covariance is rank-deficient: the result carries a warning, and N is always reported.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from talkingface.errors import KitError, MediaError, WeightsError
from talkingface.fsutil import file_stamp, write_bytes_atomic
from talkingface.metrics.base import (
    MetricSpec,
    NotComputable,
    SetResult,
    as_uint8_batch,
)
from talkingface.metrics.fid_inception import FidInception, load_fid_inception
from talkingface.metrics.protocols import FRECHET_METHODS, SPECS
from talkingface.weights import resolve_weights

IMAGE_EXTENSIONS = ("bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp")  # pytorch-fid's list
CACHE_VERSION = 1


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


def trace_sqrt_product(sigma1, sigma2) -> float:
    """tr √(Σ1 Σ2) of two covariance matrices without a general matrix square root.

    Σ1 Σ2 has the eigenvalues of a symmetric positive semi-definite matrix, so tr √(Σ1 Σ2) = Σ √λ_i. When Σ1 is
    positive definite (full-rank sets), one LAPACK call gets them: the generalized symmetric problem Σ2 Σ1 v = λ v
    (``scipy.linalg.eigh(Σ2, Σ1, type=2, eigvals_only=True)``: Cholesky Σ1 = L Lᵀ, reduction to Lᵀ Σ2 L, eigenvalues
    only), several times faster than scipy's Schur-based ``sqrtm`` of a general matrix at 2048². Otherwise (Cholesky
    fails) S = Σ1^½ from ``eigh`` and the eigenvalues of S Σ2 S. Rounding's tiny negative eigenvalues count as 0."""
    from scipy.linalg import LinAlgError, eigh

    sigma1, sigma2 = np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    try:
        eig = eigh(sigma2, sigma1, type=2, eigvals_only=True, check_finite=False)
    except LinAlgError:                 # Σ1 not positive definite: its symmetric square root instead
        d, u = np.linalg.eigh(sigma1)
        root = (u * np.sqrt(np.clip(d, 0.0, None))) @ u.T
        m = root @ sigma2 @ root
        eig = np.linalg.eigvalsh((m + m.T) / 2.0)
    return float(np.sqrt(np.clip(eig, 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6, method: str = "sqrtm") -> float:
    """‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 tr √(Σ1 Σ2). ``method="sqrtm"``: pytorch-fid's own
    ``calculate_frechet_distance`` (scipy sqrtm, offset when singular, real part), with its failures as kit errors
    and its "singular product" print kept off stdout; ``"eig"``: the trace term from :func:`trace_sqrt_product`."""
    if np.shape(mu1) != np.shape(mu2) or np.shape(sigma1) != np.shape(sigma2):
        raise KitError(f"fid: statistics of different dimensions ({np.shape(mu1)} vs {np.shape(mu2)})")
    if method == "eig":
        diff = np.asarray(mu1, dtype=np.float64) - np.asarray(mu2, dtype=np.float64)
        return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2))
    if method != "sqrtm":
        raise KitError(f"fid: method must be one of {', '.join(FRECHET_METHODS)}, got {method!r}")
    from pytorch_fid.fid_score import calculate_frechet_distance

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return float(calculate_frechet_distance(mu1, sigma1, mu2, sigma2, eps))
    except ValueError as exc:           # "Imaginary component <m>"
        raise NotComputable(f"fid: sqrtm has an imaginary component ({exc})") from None


def frechet_method(method: str, n_generated: int, n_reference: int, dims: int) -> str:
    """``eig`` or ``sqrtm`` for ``method`` (see :data:`FRECHET_METHODS`) and the sets' sizes."""
    if method not in FRECHET_METHODS:
        raise KitError(f"fid: method must be one of {', '.join(FRECHET_METHODS)}, got {method!r}")
    if method == "auto":
        return "eig" if min(n_generated, n_reference) > dims else "sqrtm"
    return method


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
    """Name, size, mtime and content fingerprint of the Inception file: new weights never reuse old statistics."""
    _, size, mtime, digest = file_stamp(path)
    return f"{path.name}:{size}:{mtime}:{digest}"


class FidMetric:
    """Set metric: add batches of both sets, then ``compute()``; reference statistics can be cached."""

    def __init__(self, spec: MetricSpec, device: str = "cpu", weights=None, dims: int = 2048, batch_size: int = 50,
                 method: str = "auto"):
        frechet_method(method, 0, 0, dims)                 # an unknown method is an error now, not at compute()
        self.spec = spec
        self.method = method
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
        value = frechet_distance(mu_g, sigma_g, mu_r, sigma_r,
                                 method=frechet_method(self.method, self._gen.n, n_ref, self.dims))
        n_min = min(self._gen.n, n_ref)
        warning = None
        if n_min < self.dims:
            warning = (f"N < {self.dims}: {self._gen.n} generated / {n_ref} reference images; the covariance is "
                       f"rank-deficient and FID is biased upwards (not comparable with full-size evaluations)")
        return SetResult(value=value, n_generated=self._gen.n, n_reference=n_ref, warning=warning)


def _iter_batches(images, batch_size: int):
    """Folder → same-size uint8 batches read with talkingface.images; iterable of arrays → same-size batches."""
    if isinstance(images, (str, os.PathLike)):
        from talkingface.media.images import read_image

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
        reference_cache=None, return_result: bool = False, method: str = "auto"):
    """FID between ``set_a`` (generated) and ``set_b`` (reference): folders or iterables of uint8 RGB arrays.

    ``reference_cache``: an .npz path for ``set_b``'s statistics; reused when it matches (file list + sizes +
    mtimes of a folder, the weights and the protocol), written otherwise. Returns the value, or the
    :class:`SetResult` (with N and the N < 2048 warning) when ``return_result``. ``method``: see
    :data:`FRECHET_METHODS`.
    """
    metric = FidMetric(SPECS["fid"], device=device, weights=weights, dims=dims, batch_size=batch_size, method=method)
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


__all__ = ["fid", "FidMetric", "FidInception", "load_fid_inception", "frechet_distance", "trace_sqrt_product",
           "frechet_method", "FRECHET_METHODS", "fingerprint_files",
           "list_images", "RunningStats", "WeightsError"]
