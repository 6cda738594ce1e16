"""One run's result from its sample records: counts, and per metric the mean ± std over samples with N, the protocol,
the direction and a note saying why a value is missing or what it leaves out.

Image metrics also get ``n_skipped_frames``: the frames their protocol skipped (AKD, CSIM: no face found) over the
run's samples; ``n_frames`` counts the frames that entered the means, and the note says how many were skipped."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Optional

import numpy as np

from talkingface.media import is_video

CROSS_NOTE = "not reported: cross-identity set (needs a same-identity ground truth)"


def run_result(plan, metrics, records: list, fid_result, fid_note: Optional[str], counts: dict,
               seconds: dict, provenance: Optional[dict] = None) -> dict:
    """The ``runs[i]`` entry of full_results.json (schema in talkingface.report.results)."""
    done = [r for r in records if r is not None]
    failed = [r for r in done if r.get("error")]
    evaluated = len(done) - len(failed)
    run = {"name": plan.name, "mode": plan.mode, "generated_dir": str(plan.generated_dir),
           "reference_dir": _str(plan.reference_dir), "source_dir": _str(plan.source_dir),
           "n_samples": len(plan.samples), "n_failed": len(failed), "n_evaluated": len(done) - len(failed),
           **counts, "n_frames": int(sum(r.get("n_frames") or 0 for r in done if not r.get("error"))),
           "error": plan.error, "warnings": list(plan.warnings), "metrics": {}, "samples": done,
           "seconds": {k: round(v, 3) for k, v in seconds.items()},      # where the time went (informative)
           "provenance": provenance, "integrity": integrity(plan, done, evaluated, len(failed))}
    for name, spec in metrics.specs.items():
        entry = {"value": None, "std": None, "n": 0, "protocol": metrics.protocols[name],
                 "lower_is_better": spec.lower_is_better, "kind": spec.kind, "note": None}
        run["metrics"][name] = entry
        if plan.error:
            entry["note"] = f"run not evaluated: {plan.error}"
        elif name in metrics.unavailable:
            entry["note"] = metrics.unavailable[name]
        elif spec.kind == "set":
            _fill_fid(entry, fid_result, fid_note)
        elif spec.full_reference and plan.mode == "cross":
            entry["note"] = CROSS_NOTE
        else:
            _fill_mean(entry, name, done, spec, plan.mode, getattr(metrics.image.get(name), "skip_reason", None))
    return run


def integrity(plan, done: list, evaluated: int, failed: int) -> dict:
    """What the mean rests on: samples asked for (generated files, plus expected ones without an output), evaluated,
    failed, expected but never generated, and pairs whose frame rates or lengths differ. ``flagged`` when fewer
    samples were evaluated than asked for."""
    requested = len(plan.samples) + len(plan.dropped)
    fps = sum(1 for r in done if r.get("extras", {}).get("fps_mismatch"))
    length = sum(1 for r in done if r.get("extras", {}).get("length_mismatch"))
    notes = []
    if evaluated < requested:
        notes.append(f"mean over {evaluated} of {requested} samples ({failed} failed, {len(plan.dropped)} without a "
                     f"generated file)")
    if fps:
        notes.append(f"{fps} sample(s) paired with a ground truth of another frame rate")
    if length:
        notes.append(f"{length} sample(s) paired with a ground truth of another length (the shorter one counts)")
    return {"requested": requested, "evaluated": evaluated, "failed": failed, "dropped_pairs": len(plan.dropped),
            "fps_mismatch": fps, "length_mismatch": length, "flagged": evaluated < requested, "notes": notes}


def _fill_fid(entry: dict, fid_result, fid_note: Optional[str]) -> None:
    if fid_result is None:
        entry["note"] = fid_note or "FID not computed"
        return
    result, note = fid_result
    if result is None:
        entry["note"] = note
        return
    entry.update(value=float(result.value), n=int(result.n_generated), n_reference=int(result.n_reference),
                 note=result.warning)


def _skipped(record: dict, name: str) -> int:
    return int((record.get("skipped_frames") or {}).get(name, 0))


def _frames(record: dict, name: str, spec) -> int:
    """The frames of a sample that entered metric ``name``'s mean (a shorter source video pairs fewer)."""
    n = record.get("n_frames") or 0
    short = record.get("extras", {}).get("source_length_mismatch")
    if spec.source_reference and short:
        n = min(n, int(short[1]))
    return n - _skipped(record, name)


def _fill_mean(entry: dict, name: str, done: list, spec, mode: str, skip_reason: Optional[str] = None) -> None:
    ok = [r for r in done if not r.get("error") and r["values"].get(name) is not None]
    vals = np.array([r["values"][name] for r in ok], dtype=np.float64)
    reasons = Counter(r["not_computable"][name] for r in done if name in r.get("not_computable", {}))
    skipped = sum(_skipped(r, name) for r in done if not r.get("error"))
    if spec.kind == "image":
        entry["n_skipped_frames"] = skipped
    if len(vals):
        entry["value"] = float(vals.mean())
        finite = np.isfinite(vals).all()
        entry["std"] = float(vals.std()) if finite else None
        entry["n"] = len(vals)
        if spec.kind == "image":
            entry["n_frames"] = int(sum(_frames(r, name, spec) for r in ok))
    notes = []
    if skipped:
        samples = sum(1 for r in done if not r.get("error") and _skipped(r, name))
        notes.append(f"{skipped} frame(s) of {samples} sample(s) skipped ({skip_reason or 'by the protocol'}); "
                     f"each sample's mean is over its other frames")
    if reasons:
        reason, count = reasons.most_common(1)[0]
        k = sum(reasons.values())
        notes.append(f"not computable for {k} of {len(done)} sample(s): {reason}"
                     + (f" (+{len(reasons) - 1} other reason(s))" if len(reasons) > 1 else ""))
    if len(vals) and not np.isfinite(vals).all():
        notes.append("some samples are identical to their ground truth (infinite value)")
    if spec.full_reference and mode == "mixed":
        notes.append("over the same-identity samples only")
    if spec.kind == "video" and not any(r.get("n_frames") and is_video(Path(r["generated"])) for r in done):
        notes.append("needs generated videos with audio; none in this folder")
    if not len(vals) and not notes:
        notes.append("no sample could be scored")
    entry["note"] = "; ".join(notes) or None


def _str(p) -> Optional[str]:
    return None if p is None else str(p)
