"""What a run is, for every report: its label and provenance (which model and weights made it) and its data checks.

``run["provenance"]`` (written by the runner from the generated folder's manifest): None when there is no manifest,
else ``{"random_weights", "label", "model", "checkpoints": [{"name", "sha256"}], "settings", "kit_version"}`` (+
``files_unrecorded``: media files the manifest has no record of).
``run["integrity"]``: ``{"requested", "evaluated", "failed", "dropped_pairs", "fps_mismatch", "length_mismatch",
"flagged", "notes"}``. Results files older than these fields render as "provenance unknown" / "not recorded".
"""
from __future__ import annotations

from typing import Optional

from talkingface.metrics.protocols import SPECS

RANDOM = "RANDOM WEIGHTS"
RANDOM_LABEL = "RANDOM WEIGHTS — not the authors' model"
RANDOM_MARK = "†"
RANDOM_NOTE = "random weights: not a result"
UNKNOWN = "provenance unknown"
NOT_RECORDED = "not recorded in this results file"
SHORT_LABEL = 28           # a longer label goes into a footnote; the row shows the model's name
WARN = "⚠"


def provenance(run: dict) -> Optional[dict]:
    p = run.get("provenance")
    return p if isinstance(p, dict) else None


def is_random(run: dict) -> bool:
    p = provenance(run)
    return bool(p and p.get("random_weights"))


def short_label(run: dict) -> str:
    """What a table row shows: ``RANDOM WEIGHTS``, ``provenance unknown``, or the label (else the model)."""
    p = provenance(run)
    if p is None:
        return UNKNOWN
    if p.get("random_weights"):
        return RANDOM
    label = str(p.get("label") or "")
    return label if label and len(label) <= SHORT_LABEL else str(p.get("model") or label[:SHORT_LABEL])


def full_label(run: dict) -> str:
    """The whole label; a random-weight run's always says RANDOM WEIGHTS."""
    p = provenance(run)
    if p is None:
        return UNKNOWN
    label = str(p.get("label") or "")
    if p.get("random_weights"):
        return label if RANDOM in label.upper() else (f"{RANDOM} — {label}" if label else RANDOM_LABEL)
    return label or str(p.get("model") or "")


def long_label_note(run: dict) -> Optional[str]:
    """The label as a footnote when the row could not show all of it (one footnote for the runs that share it)."""
    label = full_label(run)
    return label if label and label != short_label(run) and not is_random(run) else None


def random_banner(run: dict, where: str = "") -> str:
    """``RANDOM WEIGHTS: generate_x (dagan) — not the authors' model; its numbers (marked †) are not results``."""
    rest = full_label(run)[len(RANDOM):].strip(" —-:") if full_label(run).startswith(RANDOM) else full_label(run)
    model = (provenance(run) or {}).get("model")
    return (f"{RANDOM}: {where}{run['name']}{f' ({model})' if model else ''} — {rest or 'randomly initialised'}; "
            f"its numbers (marked {RANDOM_MARK}) test the pipeline, they are not results")


def provenance_line(run: dict) -> str:
    """One line: model, checkpoints (name + sha256), settings, kit version — or why it is unknown."""
    p = provenance(run)
    if p is None:
        return f"{UNKNOWN} (no manifest in the generated folder)"
    parts = [f"model {p.get('model') or '?'}"]
    ckpts = [c for c in p.get("checkpoints") or [] if isinstance(c, dict)]
    if ckpts:
        parts.append("checkpoints " + ", ".join(f"{c.get('name')} (sha256 {c.get('sha256') or 'unknown'})"
                                                for c in ckpts))
    elif p.get("random_weights"):
        parts.append("checkpoints: randomly initialised")
    settings = p.get("settings") or {}
    if settings:
        parts.append("settings " + ", ".join(f"{k}={_brief(v)}" for k, v in settings.items()))
    if p.get("kit_version"):
        parts.append(f"kit {p['kit_version']}")
    unrecorded = list(p.get("files_unrecorded") or [])
    if unrecorded:
        parts.append(f"{len(unrecorded)} file(s) without a record: " + ", ".join(map(str, unrecorded[:3]))
                     + (", …" if len(unrecorded) > 3 else ""))
    return "; ".join(parts)


def _brief(value, limit: int = 60) -> str:
    """A setting as one short token: nested configs are in full_results.json, not in every report line."""
    text = str(value)
    if len(text) > limit and isinstance(value, dict):
        return "{…}"
    return text if len(text) <= limit else text[:limit - 1] + "…"


def integrity(run: dict) -> Optional[dict]:
    i = run.get("integrity")
    return i if isinstance(i, dict) else None


def _count(n, word: str) -> str:
    n = int(n or 0)
    return f"{n} {word}" + ("" if n == 1 else "es" if word.endswith("h") else "s")


def data_checks(run: dict) -> str:
    """``3 requested, 1 evaluated, 2 failed, 0 dropped pairs, 1 fps mismatch, 0 length mismatches; notes``."""
    i = integrity(run)
    if i is None:
        return NOT_RECORDED
    text = (f"{i.get('requested', 0)} requested, {i.get('evaluated', 0)} evaluated, {i.get('failed', 0)} failed, "
            f"{_count(i.get('dropped_pairs'), 'dropped pair')}, {_count(i.get('fps_mismatch'), 'fps mismatch')}, "
            f"{_count(i.get('length_mismatch'), 'length mismatch')}")
    notes = [str(n) for n in i.get("notes") or []]
    return text + ("; " + "; ".join(notes) if notes else "")


def flag(run: dict) -> Optional[str]:
    """``mean over 1 of 3 samples`` when the runner flagged the run (a mean over fewer samples than requested)."""
    i = integrity(run)
    if not i or not i.get("flagged"):
        return None
    ns = [int(e.get("n") or 0) for e in run.get("metrics", {}).values()
          if e.get("value") is not None and e.get("kind") != "set"]
    n = min(ns) if ns else int(i.get("evaluated") or 0)
    return f"mean over {n} of {i.get('requested', 0)} samples"


def samples_cell(run: dict) -> str:
    """The samples column: ``2``, or ``1 of 3`` when fewer were evaluated than requested."""
    i = integrity(run) or {}
    done = run.get("n_evaluated", run.get("n_samples", 0))
    requested = i.get("requested", run.get("n_samples", done))
    return f"{done} of {requested}" if requested and done != requested else str(done)


def lower_is_better(runs, name: str) -> bool:
    """The direction of metric ``name``: what the results recorded (first run that has it), else its spec."""
    for run in runs if isinstance(runs, (list, tuple)) else [runs]:
        entry = run.get("metrics", {}).get(name) or {}
        if "lower_is_better" in entry:
            return bool(entry["lower_is_better"])
    spec = SPECS.get(name)
    return spec.lower_is_better if spec is not None else True


def arrow(runs, name: str) -> str:
    return "↓" if lower_is_better(runs, name) else "↑"
