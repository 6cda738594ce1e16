"""The one table of metrics: name → spec + factory. The evaluation runner reads only this.

``create_metric(name, device="cpu", **opts)`` builds a metric object:

* image metric (kind "image"): ``m(generated, reference=None) -> np.ndarray`` float64 (N,), one value per frame;
  raises :class:`NotComputable` when the batch cannot be scored (never returns NaN). PSNR of identical frames is
  ``inf`` (as scikit-image returns); a mean over frames then is ``inf`` too — the runner reports it as such.
* set metric (kind "set"): ``add_generated(batch)``, ``add_reference(batch)``, ``reference_from_cache(path)``,
  ``save_reference_cache(path)``, ``compute() -> SetResult``.
* video metric (kind "video"): ``m.video(path) -> dict`` (lse_c and lse_d share one factory; de-duplicate by it).

Metrics that need weights raise ``WeightsError("weights missing: <file>, see ...")`` from ``create_metric``.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
from typing import Any, Callable

from talkingface.errors import KitError
from talkingface.metrics.base import MetricSpec

NIQE_PROTOCOL = ("NIQE, pyiqa niqe with the official LIVE pristine parameters: Y = round(0.299R+0.587G+0.114B) "
                 "of uint8 RGB, 96-px blocks, 2 scales (MATLAB bicubic imresize 0.5), needs >= 192 px")
NIQE_MATLAB_PROTOCOL = ("NIQE (matlab variant), official LIVE pristine parameters: gray = MATLAB rgb2gray "
                        "(0.298936R+0.587043G+0.114021B, rounded), 96-px blocks, 2 scales, needs >= 192 px")
PSNR_PROTOCOL = "PSNR on RGB uint8, data range 255, per frame (skimage peak_signal_noise_ratio)"
SSIM_PROTOCOLS = {
    "standard": ("SSIM standard: uint8 RGB, Gaussian sigma 1.5, population covariance, data range 255 "
                 "(skimage structural_similarity, Wang et al.)"),
    "fomm": ("SSIM fomm: float [0,1] RGB, 7x7 uniform window, sample covariance, data range 2 "
             "(the DaGAN/MCNet authors' skimage call; only for comparing with those papers)"),
}
FID_PROTOCOL = ("FID, pytorch-fid: InceptionV3 pt_inception-2015-12-05 weights, pool3 2048-d, bilinear resize "
                "to 299 without antialias, float64 statistics, scipy sqrtm")
LPIPS_PROTOCOL = "LPIPS v0.1 AlexNet (lpips package), inputs scaled to [-1,1], per frame"
LSE_PROTOCOL = ("LSE (syncnet_python SyncNetInstance.evaluate): 25 fps, 224x224 frames after JPEG round trip, "
                "16 kHz MFCC, 5-frame windows, vshift 15; LSE-D = min mean distance, LSE-C = median - min")


def _niqe_factory(spec: MetricSpec, device: str = "cpu", variant: str = "pyiqa") -> Any:
    from talkingface.metrics.niqe import NiqeMetric

    if variant not in ("pyiqa", "matlab"):
        raise KitError(f"niqe: unknown variant {variant!r}; known: pyiqa, matlab")
    if variant == "matlab":
        spec = dataclasses.replace(spec, protocol=NIQE_MATLAB_PROTOCOL)
    return NiqeMetric(spec, device=device, variant=variant)


def _psnr_factory(spec: MetricSpec, device: str = "cpu") -> Any:
    from talkingface.metrics.fidelity import PsnrMetric

    return PsnrMetric(spec, device=device)


def _ssim_factory(spec: MetricSpec, device: str = "cpu", protocol: str = "standard") -> Any:
    from talkingface.metrics.fidelity import SsimMetric

    if protocol not in SSIM_PROTOCOLS:
        raise KitError(f"ssim: unknown protocol {protocol!r}; known: {', '.join(SSIM_PROTOCOLS)}")
    spec = dataclasses.replace(spec, protocol=SSIM_PROTOCOLS[protocol])
    return SsimMetric(spec, device=device, protocol=protocol)


def _fid_factory(spec: MetricSpec, device: str = "cpu", weights=None, dims: int = 2048, batch_size: int = 50) -> Any:
    from talkingface.metrics.fid import FidMetric

    return FidMetric(spec, device=device, weights=weights, dims=dims, batch_size=batch_size)


def _lpips_factory(spec: MetricSpec, device: str = "cpu", backbone_weights=None, linear_weights=None) -> Any:
    from talkingface.metrics.lpips import LpipsMetric

    return LpipsMetric(spec, device=device, backbone_weights=backbone_weights, linear_weights=linear_weights)


def _lse_factory(spec: MetricSpec, device: str = "cpu", weights=None, mode: str = "whole-frame",
                 s3fd_weights=None, batch_size: int = 64) -> Any:
    try:
        from syncnet.metric import LSEMetric
    except ImportError as exc:
        raise KitError(f"lse metrics need the syncnet package (syncnet.metric.LSEMetric): {exc}") from exc
    metric = LSEMetric(weights=weights, device=device, mode=mode, s3fd_weights=s3fd_weights, batch_size=batch_size)
    try:
        metric.spec = spec
    except AttributeError:  # a read-only spec property defined by the syncnet package is fine as well
        pass
    return metric


# name → (spec, factory). The one table; add a metric by adding a row.
_TABLE: dict[str, tuple[MetricSpec, Callable[..., Any]]] = {
    "niqe": (MetricSpec("niqe", "image", False, True, (), NIQE_PROTOCOL), _niqe_factory),
    "psnr": (MetricSpec("psnr", "image", True, False, (), PSNR_PROTOCOL), _psnr_factory),
    "ssim": (MetricSpec("ssim", "image", True, False, (), SSIM_PROTOCOLS["standard"]), _ssim_factory),
    "lpips": (MetricSpec("lpips", "image", True, True, ("alexnet_imagenet", "lpips_alex_linear"), LPIPS_PROTOCOL),
              _lpips_factory),
    "fid": (MetricSpec("fid", "set", False, True, ("fid_inception",), FID_PROTOCOL), _fid_factory),
    "lse_c": (MetricSpec("lse_c", "video", False, False, ("syncnet_v2",), LSE_PROTOCOL, needs_audio=True),
              _lse_factory),
    "lse_d": (MetricSpec("lse_d", "video", False, True, ("syncnet_v2",), LSE_PROTOCOL, needs_audio=True),
              _lse_factory),
}


def list_metrics() -> list[MetricSpec]:
    """All metric specs, in table order."""
    return [spec for spec, _ in _TABLE.values()]


def _lookup(name: str) -> tuple[MetricSpec, Callable[..., Any]]:
    key = str(name).strip().lower()
    if key in _TABLE:
        return _TABLE[key]
    close = difflib.get_close_matches(key, list(_TABLE), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise KitError(f"unknown metric {name!r}{hint}; known: {', '.join(_TABLE)}")


def get_spec(name: str) -> MetricSpec:
    """The spec of ``name``; a KitError listing the known names when there is none."""
    return _lookup(name)[0]


def get_factory(name: str) -> Callable[..., Any]:
    """The factory of ``name`` (metrics sharing a factory, like lse_c and lse_d, are computed together)."""
    return _lookup(name)[1]


def create_metric(name: str, device: str = "cpu", **opts: Any) -> Any:
    """Build the metric object ``name`` on ``device`` with its options (e.g. ``protocol="fomm"`` for ssim).

    Unknown options are a KitError naming the metric; missing weights a WeightsError naming the file.
    """
    spec, factory = _lookup(name)
    allowed = [p for p in inspect.signature(factory).parameters if p not in ("spec", "device")]
    unknown = sorted(set(opts) - set(allowed))
    if unknown:
        raise KitError(f"metric {spec.name!r}: unknown option(s) {', '.join(unknown)}; "
                       f"known: {', '.join(allowed) or 'none'}")
    return factory(spec, device=device, **opts)
