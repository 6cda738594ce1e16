"""The one table of metrics: name → spec + factory. The evaluation runner reads only this.

``create_metric(name, device="cpu", **opts)`` builds a metric object:

* image metric (kind "image"): ``m(generated, reference=None) -> np.ndarray`` float64 (N,), one value per frame;
  ``reference`` is the ground truth (``spec.full_reference``) or the source frames (``spec.source_reference``, CSIM).
  Raises :class:`NotComputable` when the batch cannot be scored. NaN marks a frame its protocol skips (AKD, CSIM: no
  face found); the runner leaves those frames out of the mean and reports how many. PSNR of identical frames is
  ``inf`` (as scikit-image returns); a mean over frames then is ``inf`` too — the runner reports it as such.
* set metric (kind "set"): ``add_generated(batch)``, ``add_reference(batch)``, ``reference_from_cache(path)``,
  ``save_reference_cache(path)``, ``compute() -> SetResult``.
* video metric (kind "video"): ``m.video(path) -> dict`` (lse_c and lse_d share one factory; de-duplicate by it).

Metrics that need weights raise ``WeightsError("weights missing: <file>, see ...")`` from ``create_metric``.
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
from typing import Any, Callable

from talkingface.errors import KitError
from talkingface.metrics.base import MetricSpec
from talkingface.metrics.protocols import NIQE_PROTOCOLS, SPECS, SSIM_PROTOCOLS

#: metrics that live in a model package, built by dotted name on first use (the core imports no model package)
MODEL_METRICS = {"lse": "syncnet.metric:LSEMetric"}


def _niqe_factory(spec: MetricSpec, device: str = "cpu", variant: str = "pyiqa") -> Any:
    from talkingface.metrics.niqe import NiqeMetric

    if variant not in NIQE_PROTOCOLS:
        raise KitError(f"niqe: unknown variant {variant!r}; known: {', '.join(NIQE_PROTOCOLS)}")
    spec = dataclasses.replace(spec, protocol=NIQE_PROTOCOLS[variant])
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


def _fid_factory(spec: MetricSpec, device: str = "cpu", weights=None, dims: int = 2048, batch_size: int = 50,
                 method: str = "auto") -> Any:
    from talkingface.metrics.fid import FidMetric

    return FidMetric(spec, device=device, weights=weights, dims=dims, batch_size=batch_size, method=method)


def _lpips_factory(spec: MetricSpec, device: str = "cpu", backbone_weights=None, linear_weights=None) -> Any:
    from talkingface.metrics.lpips import LpipsMetric

    return LpipsMetric(spec, device=device, backbone_weights=backbone_weights, linear_weights=linear_weights)


def _l1_factory(spec: MetricSpec, device: str = "cpu") -> Any:
    from talkingface.metrics.l1 import L1Metric

    return L1Metric(spec, device=device)


def _akd_factory(spec: MetricSpec, device: str = "cpu", fan_weights=None, detector_weights=None) -> Any:
    from talkingface.metrics.akd import AkdMetric

    return AkdMetric(spec, device=device, fan_weights=fan_weights, detector_weights=detector_weights)


def _aed_factory(spec: MetricSpec, device: str = "cpu", weights=None, resize: str = "fomm") -> Any:
    from talkingface.metrics.aed import AedMetric

    return AedMetric(spec, device=device, weights=weights, resize=resize)


def _csim_factory(spec: MetricSpec, device: str = "cpu", weights=None, detector_weights=None) -> Any:
    from talkingface.metrics.csim import CsimMetric

    return CsimMetric(spec, device=device, weights=weights, detector_weights=detector_weights)


def import_dotted(target: str) -> Any:
    """``"package.module:Name"`` -> the object, imported now; a KitError naming it when it cannot be imported."""
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise KitError(f"cannot import {target} ({exc}); is the package of that model installed?") from exc


def _lse_factory(spec: MetricSpec, device: str = "cpu", weights=None, mode: str = "whole-frame",
                 s3fd_weights=None, batch_size: int = 64) -> Any:
    metric_class = import_dotted(MODEL_METRICS["lse"])
    metric = metric_class(weights=weights, device=device, mode=mode, s3fd_weights=s3fd_weights, batch_size=batch_size)
    metric.spec = spec
    return metric


# name -> factory. Add a metric by adding its spec to protocols.SPECS and its factory here.
_FACTORIES: dict[str, Callable[..., Any]] = {
    "niqe": _niqe_factory,
    "psnr": _psnr_factory,
    "ssim": _ssim_factory,
    "lpips": _lpips_factory,
    "l1": _l1_factory,
    "akd": _akd_factory,
    "aed": _aed_factory,
    "csim": _csim_factory,
    "fid": _fid_factory,
    "lse_c": _lse_factory,
    "lse_d": _lse_factory,
}
_TABLE: dict[str, tuple[MetricSpec, Callable[..., Any]]] = {name: (SPECS[name], _FACTORIES[name]) for name in SPECS}


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
