"""Scoring machinery of the runner: the metric objects of a run, and the cross-sample frame batcher.

Frames of consecutive samples (images or video chunks of the same size) are packed into batches of ``batch_size``;
every image metric scores the whole batch in one call and the values are scattered back to their samples. A batch a
metric cannot score (``NotComputable``) is retried per sample, so the reason lands on the right sample.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from talkingface.errors import KitError


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass
class Metrics:
    """The requested metrics, built once: objects per kind, and a note for each one that is unavailable."""

    specs: dict = field(default_factory=dict)          # name -> MetricSpec (requested order)
    image: dict = field(default_factory=dict)          # name -> metric object
    video: list = field(default_factory=list)          # [(names, metric object)] one per factory (lse_c + lse_d)
    fid_opts: Optional[dict] = None                    # options to build a fresh FID metric per run
    unavailable: dict = field(default_factory=dict)    # name -> reason
    protocols: dict = field(default_factory=dict)      # name -> protocol line of the built object
    options: dict = field(default_factory=dict)        # what per-sample cache keys depend on
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
            "fid": {"batch_size": cfg.batch_size, "dims": cfg.fid_dims}}


def build_metrics(cfg, device: str, factory: Optional[Callable] = None) -> Metrics:
    """Create every requested metric; missing weights or packages make it unavailable (with the reason)."""
    from talkingface.metrics import create_metric, get_spec

    try:
        from talkingface.metrics import get_factory
    except ImportError:  # older registry without it: group video metrics by name only
        get_factory = None
    factory = factory or create_metric
    opts = metric_options(cfg)
    out = Metrics(factory=factory, device=device)
    groups: dict[Any, list] = {}
    for name in cfg.metrics:
        spec = get_spec(name)                       # an unknown name is the user's error: KitError lists the names
        out.specs[spec.name] = spec
        out.protocols[spec.name] = spec.protocol
        if spec.kind == "video":
            key = get_factory(spec.name) if get_factory else spec.name
            groups.setdefault(key, []).append(spec.name)
            continue
        kwargs = opts.get(spec.name, {})
        try:
            obj = factory(spec.name, device=device, **kwargs)
        except KitError as exc:                     # WeightsError names the missing file
            out.unavailable[spec.name] = one_line(exc)
            continue
        except ImportError as exc:
            out.unavailable[spec.name] = f"cannot import what {spec.name} needs: {one_line(exc)}"
            continue
        out.protocols[spec.name] = getattr(getattr(obj, "spec", None), "protocol", spec.protocol)
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
            continue
        out.video.append((names, obj))
    out.options = {n: [out.protocols[n], opts.get(n, {})] for n in out.per_sample}
    return out


def fid_feature_api(metric) -> bool:
    """True when the FID object can hand out per-frame features (so resumed samples need no re-encoding)."""
    return all(callable(getattr(metric, a, None)) for a in ("features", "add_generated_features"))


def options_hash(obj) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


class SampleState:
    """A sample while it is being scored; ``record()`` is what the cache and the results keep."""

    def __init__(self, sample, key: str, wanted: set, fid_stride: int = 1, fid_max: Optional[int] = None):
        self.sample, self.key, self.wanted = sample, key, wanted
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.values: dict[str, Any] = {}
        self.not_computable: dict[str, str] = {}
        self.notes: list[str] = []
        self.extras: dict[str, Any] = {}
        self.error: Optional[str] = None
        self.n_frames = 0
        self.pending = 0
        self.streamed = False
        self.fid_feats: list = []
        self.fid_stride, self.fid_max, self.fid_taken = fid_stride, fid_max, 0
        self.mid: dict[str, np.ndarray] = {}

    def fid_mask(self, start: int, k: int) -> np.ndarray:
        idx = np.arange(start, start + k)
        mask = idx % self.fid_stride == 0
        if self.fid_max:
            allowed = max(0, self.fid_max - self.fid_taken)
            mask &= np.cumsum(mask) <= allowed
        self.fid_taken += int(mask.sum())
        return mask

    def record(self) -> dict:
        s = self.sample
        values = dict(self.values)
        if self.error is None:
            for name, total in self.sums.items():
                if self.counts.get(name):
                    values[name] = float(total / self.counts[name])
        return {"sample": s.sample, "generated": str(s.generated), "reference": _str(s.reference),
                "source": _str(s.source), "same_identity": s.same_identity, "n_frames": self.n_frames,
                "error": self.error, "values": values if self.error is None else {},
                "not_computable": dict(self.not_computable), "notes": list(self.notes), "extras": self.extras}


def _str(p) -> Optional[str]:
    return None if p is None else str(p)


class Batcher:
    """Packs frames of consecutive samples into batches; ``flush()`` scores them with every image metric."""

    def __init__(self, metrics: Metrics, batch_size: int, fid=None, use_features: bool = False):
        self.metrics, self.batch_size, self.fid, self.use_features = metrics, batch_size, fid, use_features
        self.items: list = []            # (state, generated (k,H,W,3), reference or None, fid mask (k,))
        self.n = 0
        self.shape = None
        self.frames_scored = 0
        self.seconds: dict[str, float] = {}      # time spent in each metric (for the report and benchmarks)

    def add(self, state: SampleState, gen: np.ndarray, ref: Optional[np.ndarray], fid_mask: np.ndarray) -> None:
        if self.items and gen.shape[1:] != self.shape:
            self.flush()
        self.shape = gen.shape[1:]
        i = 0
        while i < len(gen):
            take = min(self.batch_size - self.n, len(gen) - i)
            sl = slice(i, i + take)
            self.items.append((state, gen[sl], None if ref is None else ref[sl], fid_mask[sl]))
            state.pending += take
            self.n += take
            i += take
            if self.n >= self.batch_size:
                self.flush()

    def flush(self) -> None:
        items, self.items, self.n = self.items, [], 0
        if not items:
            return
        for name, metric in self.metrics.image.items():
            full_ref = self.metrics.specs[name].full_reference
            chosen = [it for it in items if it[0].error is None and name in it[0].wanted
                      and name not in it[0].not_computable and (not full_ref or it[2] is not None)]
            if chosen:
                self._score(name, metric, chosen, full_ref)
        if self.fid is not None:
            chosen = [it for it in items if it[0].error is None and "fid" in it[0].wanted and it[3].any()]
            if chosen:
                start_time = time.perf_counter()
                batch = _cat([it[1][it[3]] for it in chosen])
                if self.use_features:
                    feats = np.asarray(self.fid.features(batch))
                    start = 0
                    for state, _, _, mask in chosen:
                        k = int(mask.sum())
                        state.fid_feats.append(feats[start:start + k])
                        start += k
                else:
                    self.fid.add_generated(batch)
                self._clock("fid", start_time)
        for state, gen, _, _ in items:
            state.pending -= len(gen)
            self.frames_scored += len(gen)

    def _clock(self, name: str, start: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def _score(self, name: str, metric, chosen: list, full_ref: bool) -> None:
        start = time.perf_counter()
        try:
            values = self._call(metric, chosen, full_ref)
        except KitError as exc:                      # NotComputable (or a shape error): find the culprit(s)
            states = list(dict.fromkeys(id(it[0]) for it in chosen))
            if len(states) == 1:
                chosen[0][0].not_computable[name] = one_line(exc)
                return
            for sid in states:
                part = [it for it in chosen if id(it[0]) == sid]
                self._score(name, metric, part, full_ref)
            return
        self._clock(name, start)
        offset = 0
        for state, gen, _, _ in chosen:
            k = len(gen)
            part = np.asarray(values[offset:offset + k], dtype=np.float64)
            state.sums[name] = state.sums.get(name, 0.0) + float(part.sum())
            state.counts[name] = state.counts.get(name, 0) + k
            offset += k

    @staticmethod
    def _call(metric, chosen: list, full_ref: bool) -> np.ndarray:
        gen = _cat([it[1] for it in chosen])
        if full_ref:
            return np.asarray(metric(gen, _cat([it[2] for it in chosen])))
        return np.asarray(metric(gen))


def _cat(parts: list) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
