"""The cross-sample frame batcher: frames of consecutive samples packed into batches, scored by every image metric.

Frames of consecutive samples (images or video chunks of the same size) are packed into batches of ``batch_size``;
every image metric scores the whole batch in one call and the values are scattered back to their samples. A batch a
metric cannot score (``NotComputable``) is retried per sample, so the reason lands on the right sample.

A full-reference metric gets the ground-truth frames as its reference; a source-referenced one (``spec.
source_reference``, CSIM) the sample's source frames, which keep their own size: it is called once per group of
equal source shape, never on sources of different sizes concatenated. A NaN value marks a frame the metric's
protocol skips (no face found): it is left out of the sample's mean and counted in ``skipped_frames``; a sample whose
every frame is skipped is not computable for that metric, with the metric's ``skip_reason``.
"""
from __future__ import annotations

import time
from typing import Any, Optional

import numpy as np

from talkingface.errors import KitError, one_line
from talkingface.evaluation.cache import skip_note
from talkingface.evaluation.metrics import Metrics

DEFAULT_SKIP_REASON = "skipped by the metric's protocol"


class SampleState:
    """A sample while it is being scored; ``record()`` is what the cache and the results keep."""

    def __init__(self, sample, key: str, wanted: set, fid_stride: int = 1, fid_max: Optional[int] = None):
        self.sample, self.key, self.wanted = sample, key, wanted
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.values: dict[str, Any] = {}
        self.not_computable: dict[str, str] = {}
        self.skipped: dict[str, int] = {}           # frames a metric returned NaN for (its protocol skips them)
        self.skip_reasons: dict[str, str] = {}
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
        values, not_computable, notes = dict(self.values), dict(self.not_computable), list(self.notes)
        if self.error is None:
            for name, total in self.sums.items():
                if self.counts.get(name):
                    values[name] = float(total / self.counts[name])
            for name, k in self.skipped.items():
                reason = self.skip_reasons.get(name) or DEFAULT_SKIP_REASON
                notes.append(skip_note(name, k, k + self.counts.get(name, 0), reason))
                if not self.counts.get(name):
                    not_computable.setdefault(name, f"{reason} (all frames skipped)")
        return {"sample": s.sample, "generated": str(s.generated), "reference": _str(s.reference),
                "source": _str(s.source), "same_identity": s.same_identity, "n_frames": self.n_frames,
                "error": self.error, "values": values if self.error is None else {},
                "not_computable": not_computable, "notes": notes, "extras": self.extras,
                "skipped_frames": dict(self.skipped) if self.error is None else {}}


def _str(p) -> Optional[str]:
    return None if p is None else str(p)


class Batcher:
    """Packs frames of consecutive samples into batches; ``flush()`` scores them with every image metric."""

    def __init__(self, metrics: Metrics, batch_size: int, fid=None):
        self.metrics, self.batch_size, self.fid = metrics, batch_size, fid
        self.items: list = []            # (state, generated (k,H,W,3), reference, fid mask (k,), source)
        self.n = 0
        self.shape = None
        self.frames_scored = 0
        self.seconds: dict[str, float] = {}      # time spent in each metric (for the report and benchmarks)

    def add(self, state: SampleState, gen: np.ndarray, ref: Optional[np.ndarray], fid_mask: np.ndarray,
            src: Optional[np.ndarray] = None) -> None:
        """``src``: the source frames paired with ``gen`` (any frame size; shorter than ``gen`` at the end of a
        source video that is shorter than the generated one); None when no source-referenced metric wants them."""
        if self.items and gen.shape[1:] != self.shape:
            self.flush()
        self.shape = gen.shape[1:]
        i = 0
        while i < len(gen):
            take = min(self.batch_size - self.n, len(gen) - i)
            sl = slice(i, i + take)
            self.items.append((state, gen[sl], None if ref is None else ref[sl], fid_mask[sl],
                               None if src is None else src[sl]))
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
            for chosen in _pairs(items, name, self.metrics.specs[name]):
                self._score(name, metric, chosen)
        if self.fid is not None:
            chosen = [it for it in items if it[0].error is None and "fid" in it[0].wanted and it[3].any()]
            if chosen:
                start_time = time.perf_counter()
                batch = _cat([it[1][it[3]] for it in chosen])
                feats = np.asarray(self.fid.features(batch))   # kept per sample: the cache stores them
                start = 0
                for state, _, _, mask, _ in chosen:
                    k = int(mask.sum())
                    state.fid_feats.append(feats[start:start + k])
                    start += k
                self._clock("fid", start_time)
        for state, gen, _, _, _ in items:
            state.pending -= len(gen)
            self.frames_scored += len(gen)

    def _clock(self, name: str, start: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def _score(self, name: str, metric, chosen: list) -> None:
        """Score ``chosen`` [(state, generated, reference or None)] in one call, scatter the values to the samples."""
        start = time.perf_counter()
        try:
            values = self._call(metric, chosen)
        except KitError as exc:                      # NotComputable (or a shape error): find the culprit(s)
            states = list(dict.fromkeys(id(it[0]) for it in chosen))
            if len(states) == 1:
                chosen[0][0].not_computable[name] = one_line(exc)
                return
            for sid in states:
                part = [it for it in chosen if id(it[0]) == sid]
                self._score(name, metric, part)
            return
        self._clock(name, start)
        offset = 0
        for state, gen, _ in chosen:
            k = len(gen)
            part = np.asarray(values[offset:offset + k], dtype=np.float64)
            skipped = np.isnan(part)
            if skipped.any():                        # frames the protocol skips: out of the mean, counted
                part = part[~skipped]
                state.skipped[name] = state.skipped.get(name, 0) + int(skipped.sum())
                state.skip_reasons[name] = str(getattr(metric, "skip_reason", None) or DEFAULT_SKIP_REASON)
            state.sums[name] = state.sums.get(name, 0.0) + float(part.sum())
            state.counts[name] = state.counts.get(name, 0) + len(part)
            offset += k

    @staticmethod
    def _call(metric, chosen: list) -> np.ndarray:
        gen = _cat([it[1] for it in chosen])
        if chosen[0][2] is not None:
            return np.asarray(metric(gen, _cat([it[2] for it in chosen])))
        return np.asarray(metric(gen))


def _pairs(items: list, name: str, spec) -> list:
    """The batch's (state, generated, reference) for metric ``name``, in groups to score in one call each: one group,
    or for a source-referenced metric one group per source frame size (a source video shorter than the generated
    one pairs the generated frames it has)."""
    chosen = []
    for state, gen, ref, _, src in items:
        if state.error is not None or name not in state.wanted or name in state.not_computable:
            continue
        if spec.source_reference:
            if src is not None and len(src):
                chosen.append((state, gen[:len(src)], src))
        elif not spec.full_reference:
            chosen.append((state, gen, None))
        elif ref is not None:
            chosen.append((state, gen, ref))
    if not spec.source_reference:
        return [chosen] if chosen else []
    groups: dict[tuple, list] = {}
    for it in chosen:
        groups.setdefault(it[2].shape[1:], []).append(it)
    return list(groups.values())


def _cat(parts: list) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
