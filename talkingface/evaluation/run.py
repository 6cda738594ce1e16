"""Score one generated folder (a run): stream its samples through the batcher, FID, LSE; aggregate per metric.

FID compares all frames of the run's generated files with the real frames of its ground-truth folder (gt_self/ for
``*_self`` runs, gt_cross/ otherwise — for cross runs these are the driving videos, the real frames of the motion
the generator copied; with --pairs, the distinct gt files the pairs name). Reference statistics are cached in
``<output_path>/cache/fid_ref_<hash>.npz`` (hash of the files' names, sizes, mtimes and the FID options): the output
folder, not the evaluation set, because the set may be mounted read-only.

FID's statistics are built in a fixed order (talkingface.evaluation.fidstats), so resumed and merged runs give one
process's numbers. With ``shard`` (i, n) only the samples at positions i, i+n, … are scored, their records carry
``"shard": "i/n"``, the shard's part of the reference files is encoded into the feature cache, and no FID is
computed: ``score()`` then returns counts only (:meth:`RunScorer.shard_summary`).
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np

from talkingface.errors import KitError, one_line
from talkingface.evaluation.aggregate import run_result
from talkingface.evaluation.batcher import Batcher, SampleState
from talkingface.evaluation.cache import merge_records, present, sample_key, stale_metrics
from talkingface.evaluation.config import format_shard
from talkingface.evaluation.fidstats import PlanOrder, ReferenceSet, reference_stats_path
from talkingface.evaluation.metrics import options_hash
from talkingface.evaluation.stream import stream_sample
from talkingface.fsutil import write_bytes_atomic
from talkingface.generated import provenance_of
from talkingface.report.visuals import encode_png, middle_frame, side_by_side


class RunScorer:
    def __init__(self, plan, metrics, cfg, cache, output_path: Path, log=None, shard=None):
        self.plan, self.metrics, self.cfg, self.cache = plan, metrics, cfg, cache
        self.shard = shard                             # (i, n): score positions i, i+n, … only; None: all
        self.positions = [i for i in range(len(plan.samples)) if shard is None or i % shard[1] == shard[0]]
        self.order = None                              # PlanOrder of the generated FID features
        self.out = Path(output_path)
        self.log = log or logging.getLogger(__name__).warning
        self.fid = None
        self.fid_note = None
        self.batcher = None
        self.seconds: dict[str, float] = {}
        self.n_cached = self.n_computed = 0
        self.key_options = {"resize": cfg.resize}     # each metric's own key: metrics.keys (evaluation.cache)
        self.fid_tag = options_hash([metrics.protocols.get("fid"), metrics.fid_opts, cfg.fid_max_frames_per_video,
                                     metrics.weights.get("fid")])
        self._groups = ["/".join(names) for names, _ in metrics.video]

    # ------------------------------------------------------------------ samples
    def score(self) -> dict:
        self.t0 = time.perf_counter()
        plan = self.plan
        records = [None] * len(plan.samples)
        if plan.error is None:
            if "fid" in self.metrics.specs and "fid" not in self.metrics.unavailable:
                try:
                    self.fid = self.metrics.new_fid()
                except KitError as exc:
                    self.fid_note = one_line(exc)
            self._score_samples(records)
        if self.shard is not None:
            if self.fid is not None:
                self._fid_reference_part()
            return self.shard_summary(records)
        fid_result = self._fid_result() if self.fid is not None else None
        seconds = {**(self.batcher.seconds if self.batcher else {}), **self.seconds,
                   "total": time.perf_counter() - self.t0}
        return run_result(self.plan, self.metrics, records, fid_result, self.fid_note,
                          counts={"n_cached": self.n_cached, "n_computed": self.n_computed}, seconds=seconds,
                          provenance=provenance_of(plan.generated_dir) if plan.error is None else None)

    def shard_summary(self, records: list) -> dict:
        """What a shard did in this run: its samples, how many came from the cache, were scored, failed."""
        return {"name": self.plan.name, "error": self.plan.error, "n_samples": len(self.positions),
                "n_cached": self.n_cached, "n_computed": self.n_computed, "warnings": list(self.plan.warnings),
                "n_failed": sum(1 for r in records if r is not None and r.get("error"))}

    def _score_samples(self, records: list) -> None:
        from tqdm import tqdm

        batcher = Batcher(self.metrics, self.cfg.batch_size, self.fid)
        self.batcher = batcher
        self.order = PlanOrder(self.fid, self.positions) if self.fid is not None else None
        open_states: list = []
        desc = self.plan.name if self.shard is None else f"{self.plan.name} [{format_shard(self.shard)}]"
        bar = tqdm(total=len(self.positions), desc=desc, unit="sample", file=sys.stderr,
                   disable=not self.cfg.progress, dynamic_ncols=True)
        try:
            for i in self.positions:
                sample = self.plan.samples[i]
                key = sample_key(self.plan.name, sample, self.key_options)
                entry = self.cache.get(key)
                wanted = self._wanted(sample)
                stale = stale_metrics(entry, wanted - {"fid"}, self.metrics.keys)
                failed = entry is not None and bool(entry["record"].get("error"))
                feats = self.cache.get_features(self._fkey(key)) if "fid" in wanted and not failed else None
                if entry is not None and not stale:
                    records[i] = present(entry["record"], self.metrics.per_sample, self._groups)
                    self.n_cached += 1
                    bar.update(1)
                    if "fid" in wanted and feats is None and not failed:    # re-encode its frames for FID only
                        state = SampleState(sample, key, {"fid"}, fid_max=self.cfg.fid_max_frames_per_video)
                        self._stream(state, batcher)
                        open_states.append((i, state, None, False))
                    else:
                        self._fid_done(i, feats)
                else:                               # scored for the metrics the cache cannot give, merged with it
                    if "fid" in wanted and feats is None:
                        stale.add("fid")
                    else:
                        self._fid_done(i, feats)
                    state = SampleState(sample, key, stale, fid_max=self.cfg.fid_max_frames_per_video)
                    self._stream(state, batcher)
                    self._video_metrics(state)
                    open_states.append((i, state, None if failed else entry, True))
                open_states = self._finish_ready(open_states, records, bar)
            batcher.flush()
            open_states = self._finish_ready(open_states, records, bar)
        finally:
            bar.close()
        assert not open_states, "samples left unfinished"
        assert self.order is None or self.order.complete, "FID features left unadded"

    def _fid_done(self, i: int, feats) -> None:
        if self.order is not None:
            self.order.done(i, feats)

    def _fkey(self, key: str) -> str:
        return f"{key}_{self.fid_tag}"

    def _wanted(self, sample) -> set:
        wanted = set()
        for name in self.metrics.image:
            if not self.metrics.specs[name].full_reference or (sample.same_identity and sample.reference is not None):
                wanted.add(name)
        if self.fid is not None:
            wanted.add("fid")
        if sample.is_video:
            wanted.update(n for names, _ in self.metrics.video for n in names)
        return wanted

    def _stream(self, state: SampleState, batcher: Batcher) -> None:
        # frames are paired with the ground truth whenever a full-reference metric applies to the sample, even when
        # only some metrics are scored again: every metric sees the same (paired) frames as in a fresh run
        full_ref = any(n in self.metrics.image and self.metrics.specs[n].full_reference
                       for n in self._wanted(state.sample))
        stream_sample(state, batcher, self.metrics, self.cfg, full_ref, self.plan.reference_dir)

    def _video_metrics(self, state: SampleState) -> None:
        for names, metric in self.metrics.video:
            if state.error is not None or not state.sample.is_video or not state.wanted & set(names):
                continue
            if not state.extras.get("has_audio"):
                for n in names:
                    state.not_computable[n] = "no audio stream"
                continue
            start = time.perf_counter()
            try:
                result = dict(metric.video(state.sample.generated))
            except KitError as exc:
                for n in names:
                    state.not_computable[n] = one_line(exc)
                continue
            finally:
                key = "/".join(names)
                self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - start
            for n in names:
                if result.get(n) is not None:
                    state.values[n] = float(result[n])
                else:
                    state.not_computable[n] = f"{n} missing from the video metric's result"
            state.extras["/".join(names)] = {k: v for k, v in result.items()
                                             if k not in names and isinstance(v, (int, float, str, bool))}

    def _finish_ready(self, open_states: list, records: list, bar) -> list:
        left = []
        for i, state, base, scored in open_states:
            if not state.streamed or state.pending > 0:
                left.append((i, state, base, scored))
                continue
            if self.fid is not None and "fid" in state.wanted:
                feats = None
                if state.error is None and state.fid_feats:
                    feats = np.concatenate(state.fid_feats)
                    self.cache.put_features(self._fkey(state.key), feats)
                self._fid_done(i, feats)
            if not scored:                          # FID features of a cached sample only
                continue
            if self.cfg.save_visuals and state.error is None:
                self._save_visual(state)
            record = merge_records(base and base["record"], state.record(), state.wanted)
            if self.shard is not None:
                record["shard"] = format_shard(self.shard)
            keys = {**(base["metrics"] if base else {}), **{n: self.metrics.keys[n] for n in self.metrics.per_sample}}
            self.cache.put(state.key, record, keys)
            records[i] = present(record, self.metrics.per_sample, self._groups)
            self.n_computed += 1
            bar.update(1)
        return left

    def _save_visual(self, state: SampleState) -> None:
        s = state.sample
        try:
            panels = [middle_frame(s.source) if s.source else None,
                      state.mid.get("reference") if "reference" in state.mid
                      else (middle_frame(s.reference) if s.reference else None),
                      state.mid.get("generated")]
            write_bytes_atomic(self.out / "visuals" / self.plan.name / f"{s.sample}.png",
                               encode_png(side_by_side(panels)))
        except (KitError, OSError) as exc:
            state.notes.append(f"visual not written: {one_line(exc)}")

    # ------------------------------------------------------------------ FID
    def _reference_set(self) -> ReferenceSet:
        return ReferenceSet(self.fid, self.cache, self.fid_tag, self.cfg, self.plan.warnings, self.log)

    def _fid_result(self):
        files = self.plan.fid_reference
        if not files:
            return None, "no real frames for the FID reference set (ground-truth folder missing or empty)"
        cache_path = reference_stats_path(self.out, self.fid_tag, files)
        start = time.perf_counter()
        try:
            if not self.fid.reference_from_cache(cache_path):
                self._reference_set().add_all(files)
                cache_path.parent.mkdir(parents=True, exist_ok=True)
                self.fid.save_reference_cache(cache_path)
            self.seconds["fid reference"] = time.perf_counter() - start
            start = time.perf_counter()
            result = self.fid.compute()
            self.seconds["fid distance"] = time.perf_counter() - start
            return result, None
        except KitError as exc:
            return None, one_line(exc)

    def _fid_reference_part(self) -> None:
        """A shard's part of the reference set: files i, i+n, … encoded into the feature cache for the merge
        (nothing to do when the merge's reference statistics are cached already)."""
        files = self.plan.fid_reference
        if not files or self.fid.reference_from_cache(reference_stats_path(self.out, self.fid_tag, files)):
            return
        start = time.perf_counter()
        self._reference_set().encode_part(files, range(self.shard[0], len(files), self.shard[1]))
        self.seconds["fid reference"] = time.perf_counter() - start
