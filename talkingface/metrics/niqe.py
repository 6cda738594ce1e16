"""NIQE (Mittal et al. 2013) with the official LIVE pristine parameters, equal to pyiqa's ``niqe``.

Protocol (docs/architecture.md, "Protocols"), step by step as pyiqa 0.1.16 computes it (``pyiqa/archs/niqe_arch.py``):

1. gray: uint8 RGB → float32 /255 → Y of YIQ (0.299, 0.587, 0.114; a float32 matmul) → ×255 → round → float64.
   The ``matlab`` variant uses MATLAB ``rgb2gray`` coefficients in float64 and rounds half away from zero.
2. crop to whole 96-px blocks; for 2 scales: local normalisation with a 7×7 Gaussian (σ 7/6, float32 weights,
   replicate padding), ``(I - μ) / (sqrt(|E[I²] - μ²| + eps) + 1)``; 18 AGGD features per block (96 px, then 48 px);
   between scales MATLAB bicubic ``imresize(·, 0.5)`` with antialiasing, computed in float32 as pyiqa does.
3. AGGD fit: gamma table ``arange(0.2, 10.001, 0.001)`` (float32 values), nearest ratio; products with circularly
   shifted neighbours (0,1), (1,0), (1,1), (1,-1) inside each block.
4. NaN-aware mean over blocks (per feature), covariance over blocks without NaN, ``pinv((Σ_pris + Σ) / 2)``,
   NIQE = sqrt(Δμᵀ · pinv · Δμ).

Everything is batched over images and blocks in torch (float64), so it runs on a GPU with ``device="cuda"``.
"""
from __future__ import annotations

import math
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F

from talkingface.errors import KitError
from talkingface.metrics.base import MetricSpec, NotComputable, as_uint8_batch

BLOCK = 96
MIN_SIZE = 2 * BLOCK
_YIQ = ((0.299, 0.587, 0.114), (0.5959, -0.2746, -0.3213), (0.2115, -0.5227, 0.3112))
_MATLAB_GRAY = (0.298936021293775, 0.587043074451121, 0.114020904255103)
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
_MAX_PIXELS_PER_CHUNK = 8_000_000


def load_pristine_params(path=None) -> tuple[np.ndarray, np.ndarray]:
    """``(mu (36,), cov (36,36))`` float64 from the kit's npz (default) or a given .npz / LIVE .mat file."""
    if path is None:
        ref = resources.files("talkingface") / "data" / "niqe_pris_params.npz"
        with resources.as_file(ref) as p:
            return load_pristine_params(p)
    path = str(path)
    try:
        if path.endswith(".mat"):
            import scipy.io

            data = scipy.io.loadmat(path)
        else:
            data = dict(np.load(path, allow_pickle=False))
        mu = np.ravel(np.asarray(data["mu_prisparam"], dtype=np.float64))
        cov = np.asarray(data["cov_prisparam"], dtype=np.float64)
    except (OSError, ValueError, KeyError) as exc:
        raise KitError(f"{path}: cannot read NIQE pristine parameters ({exc})") from exc
    if mu.shape != (36,) or cov.shape != (36, 36):
        raise KitError(f"{path}: NIQE parameters must be mu 36 and cov 36x36, got {mu.shape} and {cov.shape}")
    return mu, cov


def to_gray(batch: torch.Tensor, variant: str = "pyiqa") -> torch.Tensor:
    """(N,H,W,3) uint8 tensor → (N,1,H,W) float64 gray levels 0..255 (integers), as the protocol defines."""
    if variant == "pyiqa":
        x = batch.float() / 255
        w = torch.tensor(_YIQ, dtype=torch.float32, device=batch.device).t()
        y = torch.matmul(x, w)[..., 0] * 255
        return y.round().double()[:, None]
    if variant == "matlab":
        w = torch.tensor(_MATLAB_GRAY, dtype=torch.float64, device=batch.device)
        y = (batch.double() * w).sum(-1)
        return torch.floor(y + 0.5)[:, None]
    raise KitError(f"niqe: unknown variant {variant!r}; known: pyiqa, matlab")


def _gauss_window(device) -> torch.Tensor:
    """MATLAB fspecial('gaussian', 7, 7/6), rounded to float32 like pyiqa, as a float64 conv weight."""
    r = np.arange(-3.0, 4.0)
    h = np.exp(-(r[None, :] ** 2 + r[:, None] ** 2) / (2.0 * (7.0 / 6) ** 2))
    h[h < np.finfo(h.dtype).eps * h.max()] = 0
    h /= h.sum()
    return torch.from_numpy(h).float().double().to(device)[None, None]


def _normalize(img: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """(I - μ) / (σ + 1) with μ, σ from the 7×7 window (replicate borders); the 49 taps as shifted mul-adds,
    which is much faster than a float64 conv2d on CPU and equal to it up to summation order."""
    h, w = img.shape[-2:]
    padded = F.pad(img, (3, 3, 3, 3), mode="replicate")
    both = torch.cat([padded, padded * padded], dim=1)           # (N, 2, H+6, W+6)
    taps = window.reshape(7, 7).tolist()
    acc = None
    for dy in range(7):
        for dx in range(7):
            term = both[..., dy:dy + h, dx:dx + w]
            acc = term * taps[dy][dx] if acc is None else acc.add_(term, alpha=taps[dy][dx])
    mu, ex2 = acc[:, :1], acc[:, 1:]
    sigma = torch.sqrt((ex2 - mu**2).abs() + torch.finfo(img.dtype).eps)
    return (img - mu) / (sigma + 1)


def _cubic(x: torch.Tensor, a: float = -0.5) -> torch.Tensor:
    ax = x.abs()
    ax2 = ax * ax
    ax3 = ax * ax2
    c01 = ((a + 2) * ax3 - (a + 3) * ax2 + 1) * ax.le(1).to(x.dtype)
    c12 = ((a * ax3) - (5 * a * ax2) + (8 * a * ax) - (4 * a)) * (ax.gt(1) & ax.le(2)).to(x.dtype)
    return c01 + c12


def _half_1d(x: torch.Tensor, dim: int) -> torch.Tensor:
    """MATLAB bicubic imresize by 0.5 along ``dim`` (-2 or -1) with antialiasing; symmetric edge padding."""
    scale = 0.5
    n_in = x.shape[dim]
    n_out = math.ceil(n_in * scale)
    ksize = math.ceil(4 / scale) + 2
    pos = torch.linspace(0, n_out - 1, steps=n_out, dtype=x.dtype, device=x.device)
    pos = (pos + 0.5) / scale - 0.5
    base = pos.floor() - (ksize // 2) + 1
    dist = pos - base
    taps = torch.stack([dist - k for k in range(ksize)]) * scale
    weight = _cubic(taps)
    weight = weight / weight.sum(dim=0, keepdim=True)
    base = base.long()
    pre = max(int(-base.min()), 0)
    post = max(int(base.max()) + ksize - n_in, 0)
    idx = torch.arange(-pre, n_in + post, device=x.device)
    idx = torch.where(idx < 0, -idx - 1, idx)                 # a, b | a b c d | d c  (MATLAB 'symmetric')
    idx = torch.where(idx >= n_in, 2 * n_in - 1 - idx, idx)
    base = base + pre
    if dim == -2:
        xp = x[..., idx, :]
        sample = torch.stack([xp[..., base + k, :] for k in range(ksize)], dim=1)
        weight = weight.view(1, ksize, 1, n_out, 1)
    else:
        xp = x[..., idx]
        sample = torch.stack([xp[..., base + k] for k in range(ksize)], dim=1)
        weight = weight.view(1, ksize, 1, 1, n_out)
    return (sample * weight).sum(dim=1)


def imresize_half(img: torch.Tensor) -> torch.Tensor:
    """pyiqa's ``imresize(img / 255, scale=0.5) * 255``: computed in float32, returned as float64."""
    x = (img / 255.0).float()
    x = _half_1d(_half_1d(x, -2), -1)
    return x.double() * 255.0


def _gamma_table(device) -> tuple[torch.Tensor, torch.Tensor]:
    gam = torch.arange(0.2, 10 + 0.001, 0.001, dtype=torch.float32).to(device=device, dtype=torch.float64)
    r_gam = (2 * torch.lgamma(2.0 / gam) - (torch.lgamma(1.0 / gam) + torch.lgamma(3.0 / gam))).exp()
    return gam, r_gam


def _aggd(x: torch.Tensor, gam: torch.Tensor, r_gam: torch.Tensor):
    """AGGD fit per block: x (B, h, w) → alpha, beta_l, beta_r, each (B,)."""
    left, right = x < 0, x > 0
    n_left = left.sum(dim=(-1, -2), dtype=torch.float32)
    n_right = right.sum(dim=(-1, -2), dtype=torch.float32)
    left_std = torch.sqrt((x * left).pow(2).sum(dim=(-1, -2)) / n_left)
    right_std = torch.sqrt((x * right).pow(2).sum(dim=(-1, -2)) / n_right)
    g = left_std / right_std
    rhat = x.abs().mean(dim=(-1, -2)).pow(2) / x.pow(2).mean(dim=(-1, -2))
    rnorm = (rhat * (g.pow(3) + 1) * (g + 1)) / (g.pow(2) + 1).pow(2)
    # argmin |r_gam - rnorm| over the increasing table: one of the two neighbours of the insertion point
    hi = torch.searchsorted(r_gam, rnorm.contiguous()).clamp(1, len(r_gam) - 1)
    lo = hi - 1
    pos = torch.where((r_gam[lo] - rnorm).abs() <= (r_gam[hi] - rnorm).abs(), lo, hi)
    pos = torch.where(torch.isnan(rnorm), torch.zeros_like(pos), pos)   # torch.argmin of an all-NaN row is 0
    alpha = gam[pos]
    scale = (torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha)).exp().sqrt()
    return alpha, left_std * scale, right_std * scale


def _block_features(blocks: torch.Tensor, gam, r_gam) -> torch.Tensor:
    """(B, h, w) normalised blocks → (B, 18) NIQE features."""
    alpha, bl, br = _aggd(blocks, gam, r_gam)
    feats = [alpha, (bl + br) / 2]
    for shift in _SHIFTS:
        prod = blocks * torch.roll(blocks, shift, dims=(-2, -1))
        alpha, bl, br = _aggd(prod, gam, r_gam)
        mean = (br - bl) * (torch.lgamma(2 / alpha) - torch.lgamma(1 / alpha)).exp()
        feats.extend((alpha, mean, bl, br))
    return torch.stack(feats, dim=-1)


def _features(gray: torch.Tensor) -> torch.Tensor:
    """(N,1,H,W) float64 gray → (N, n_blocks, 36) features over 2 scales."""
    n, _, h, w = gray.shape
    nbh, nbw = h // BLOCK, w // BLOCK
    img = gray[..., : nbh * BLOCK, : nbw * BLOCK]
    window = _gauss_window(gray.device)
    gam, r_gam = _gamma_table(gray.device)
    per_scale = []
    for scale in (1, 2):
        bs = BLOCK // scale
        normed = _normalize(img, window)
        blocks = normed.reshape(n, nbh, bs, nbw, bs).permute(0, 1, 3, 2, 4).reshape(-1, bs, bs)
        per_scale.append(_block_features(blocks, gam, r_gam).reshape(n, nbh * nbw, 18))
        if scale == 1:
            img = imresize_half(img)
    return torch.cat(per_scale, dim=-1)


def _quality(feats: torch.Tensor, mu_p: torch.Tensor, cov_p: torch.Tensor) -> torch.Tensor:
    """(N, B, 36) block features → (N,) NIQE; NaN where an image has no usable block."""
    nan = torch.isnan(feats)
    mu = torch.where(nan, torch.zeros_like(feats), feats).sum(1) / (~nan).float().sum(1)
    covs = []
    for f, bad in zip(feats, nan.any(-1), strict=True):
        rows = f[~bad]
        if len(rows) == 0:
            covs.append(torch.full_like(cov_p, float("nan")))
        else:
            covs.append(torch.cov(rows.t(), correction=1 if len(rows) > 1 else 0))
    cov = torch.stack(covs)
    ok = ~(torch.isnan(mu).any(-1) | torch.isnan(cov).flatten(1).any(-1))
    out = torch.full((len(feats),), float("nan"), dtype=torch.float64, device=feats.device)
    if ok.any():
        inv = torch.linalg.pinv((cov_p + cov[ok]) / 2)
        diff = (mu_p - mu[ok]).unsqueeze(1)
        out[ok] = torch.sqrt(torch.bmm(torch.bmm(diff, inv), diff.transpose(1, 2)).reshape(-1))
    return out


def niqe_batch(images, device: str = "cpu", variant: str = "pyiqa", params=None) -> np.ndarray:
    """NIQE of each image of a (N,H,W,3) uint8 RGB batch (or one (H,W,3) image) → float64 (N,).

    Raises NotComputable when the images are smaller than 192 px or an image has no textured block (e.g. a flat
    frame); the message names the frame.
    """
    batch = as_uint8_batch(images, "niqe input")
    n, h, w, _ = batch.shape
    if min(h, w) < MIN_SIZE:
        raise NotComputable(f"image smaller than {MIN_SIZE} px ({w}x{h}); NIQE needs 2x2 blocks of {BLOCK} px")
    mu_np, cov_np = load_pristine_params(params)
    dev = torch.device(device)
    mu_p = torch.from_numpy(mu_np).to(dev)
    cov_p = torch.from_numpy(cov_np).to(dev)
    chunk = max(1, _MAX_PIXELS_PER_CHUNK // (h * w))
    out = []
    with torch.no_grad():
        for start in range(0, n, chunk):
            t = torch.from_numpy(np.ascontiguousarray(batch[start:start + chunk])).to(dev)
            out.append(_quality(_features(to_gray(t, variant)), mu_p, cov_p).cpu().numpy())
    values = np.concatenate(out)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise NotComputable(f"frame {int(bad[0])} has no textured {BLOCK}-px block (flat image); NIQE undefined")
    return values


def niqe(image, variant: str = "pyiqa", device: str = "cpu", params=None) -> float:
    """NIQE of one (H,W,3) uint8 RGB image (lower is better), official LIVE pristine parameters."""
    arr = np.asarray(image)
    if arr.ndim != 3:
        raise KitError(f"niqe: expected one (H,W,3) image, got shape {arr.shape}; use niqe_batch for batches")
    return float(niqe_batch(arr, device=device, variant=variant, params=params)[0])


class NiqeMetric:
    """Registry object: ``m(generated) -> (N,)`` NIQE per frame (no reference needed)."""

    def __init__(self, spec: MetricSpec, device: str = "cpu", variant: str = "pyiqa", params=None):
        self.spec = spec
        self.device = device
        self.variant = variant
        self.params = params
        load_pristine_params(params)  # fail at creation, not at the first frame

    def __call__(self, generated, reference=None) -> np.ndarray:
        return niqe_batch(generated, device=self.device, variant=self.variant, params=self.params)
