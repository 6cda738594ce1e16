"""The metric objects of an evaluation, built once from the registry: per kind, with a reason for each one that is
unavailable (missing weights or packages), and each metric's cache key (protocol, options, weights files)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from talkingface.errors import KitError, one_line
from talkingface.metrics import create_metric, get_factory, get_spec


@dataclass
class Metrics:
    """The requested metrics, built once: objects per kind, and a note for each one that is unavailable."""

    specs: dict = field(default_factory=dict)          # name -> MetricSpec (requested order)
    image: dict = field(default_factory=dict)          # name -> metric object
    video: list = field(default_factory=list)          # [(names, metric object)] one per factory (lse_c + lse_d)
    fid_opts: Optional[dict] = None                    # options to build a fresh FID metric per run
    unavailable: dict = field(default_factory=dict)    # name -> reason
    missing_weights: dict = field(default_factory=dict)  # manifest name -> path, over every unavailable metric
    protocols: dict = field(default_factory=dict)      # name -> protocol line of the built object
    options: dict = field(default_factory=dict)        # name -> [protocol, options] of each per-sample metric
    weights: dict = field(default_factory=dict)        # name -> stamps of its weights files (evaluation.cache)
    keys: dict = field(default_factory=dict)           # name -> cache key: protocol, options, weights stamps
    factory: Optional[Callable] = None
    device: str = "cpu"
    _first_fid: Any = None

    def new_fid(self):
        """A fresh FID accumulator (the first call reuses the object built while checking availability)."""
        if self.fid_opts is None:
            return None
        if self._first_fid is not None:
            m, self._first_fid = self._first_fid, None
            return m
        return self.factory("fid", device=self.device, **self.fid_opts)

    @property
    def per_sample(self) -> list:
        return list(self.image) + [n for names, _ in self.video for n in names]


def metric_options(cfg) -> dict:
    return {"ssim": {"protocol": cfg.ssim_protocol}, "niqe": {"variant": cfg.niqe_variant},
            "lse_c": {"mode": cfg.lse_mode}, "lse_d": {"mode": cfg.lse_mode},
            "fid": {"batch_size": cfg.batch_size, "dims": cfg.fid_dims, "method": cfg.fid_method}}


def build_metrics(cfg, device: str, factory: Optional[Callable] = None) -> Metrics:
    """Create every requested metric; missing weights or packages make it unavailable (with the reason)."""
    factory = factory or create_metric
    opts = metric_options(cfg)
    out = Metrics(factory=factory, device=device)
    groups: dict[Any, list] = {}
    for name in cfg.metrics:
        spec = get_spec(name)                       # an unknown name is the user's error: KitError lists the names
        out.specs[spec.name] = spec
        out.protocols[spec.name] = spec.protocol
        if spec.kind == "video":
            key = get_factory(spec.name)
            groups.setdefault(key, []).append(spec.name)
            continue
        kwargs = opts.get(spec.name, {})
        try:
            obj = factory(spec.name, device=device, **kwargs)
        except KitError as exc:                     # WeightsError names the missing file
            out.unavailable[spec.name] = one_line(exc)
            out.missing_weights.update(getattr(exc, "missing", []))
            continue
        except ImportError as exc:
            out.unavailable[spec.name] = f"cannot import what {spec.name} needs: {one_line(exc)}"
            continue
        out.protocols[spec.name] = obj.spec.protocol
        if spec.kind == "set" and kwargs.get("dims", 2048) != 2048:
            out.protocols[spec.name] += f" — {kwargs['dims']}-d features, NOT comparable with standard 2048-d FID"
        if spec.kind == "set":
            out.fid_opts, out._first_fid = kwargs, obj
        else:
            out.image[spec.name] = obj
    for names in groups.values():
        try:
            obj = factory(names[0], device=device, **opts.get(names[0], {}))
        except (KitError, ImportError) as exc:
            for n in names:
                out.unavailable[n] = one_line(exc)
            out.missing_weights.update(getattr(exc, "missing", []))
            continue
        out.video.append((names, obj))
    out.options = {n: [out.protocols[n], opts.get(n, {})] for n in out.per_sample}
    for name in out.specs:
        if name not in out.unavailable:
            out.weights[name] = weights_stamps(name, cfg)
    out.keys = {n: options_hash([n, *out.options[n], out.weights[n]]) for n in out.per_sample}
    return out


def weights_stamps(name: str, cfg) -> list:
    """[[manifest name, file stamp], ...] of the weights files metric ``name`` loads (S3FD too for face-track LSE),
    resolved as the metric resolves them (checkpoints folder, torch hub cache, installed package)."""
    from talkingface.fsutil import file_stamp
    from talkingface.weights import weight_path

    spec = get_spec(name)
    files = list(spec.weights) + (["s3fd"] if spec.kind == "video" and cfg.lse_mode == "face-track" else [])
    return [[f, file_stamp(weight_path(f, required=False))] for f in files]


def options_hash(obj) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
