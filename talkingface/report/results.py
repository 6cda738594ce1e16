"""The results of an evaluation as files: full_results.json (schema below) and every report written from it.

Reports: summary.md, evaluation_summary.txt, per_sample.csv, report.html, paper_table.md (docs/reports.md).

``full_results.json`` schema (written by :mod:`talkingface.evaluation`)::

    {"kit_version", "created", "environment": {torch, device, ffmpeg, …}, "args": {resolved runner options},
     "sharding": None | {"world_size", "shards": {"i/n" | "unsharded": samples}, "launcher"?},
     "runs": [{"name", "mode": "self"|"cross"|"mixed", "generated_dir", "reference_dir", "source_dir",
               "n_samples", "n_failed", "n_evaluated", "n_cached", "n_computed", "n_frames", "error", "warnings",
               "seconds": {metric or stage: seconds spent},
               "provenance": None | {"random_weights", "label", "model", "checkpoints": [{"name", "sha256"}],
                                     "settings", "kit_version"},
               "integrity": {"requested", "evaluated", "failed", "dropped_pairs", "fps_mismatch",
                             "length_mismatch", "flagged", "notes"},
               "metrics": {name: {"value", "std", "n", "n_frames"|"n_reference", "protocol", "lower_is_better",
                                  "kind", "note"}},
               "sharding": None | {"world_size", "shards": {...}},
               "samples": [{"sample", "generated", "reference", "source", "same_identity", "n_frames", "error",
                            "values": {name: float}, "not_computable": {name: reason}, "notes", "extras",
                            "shard": None | "i/n" (the shard that scored it; docs/scale_out.md)}]}]}

Every table states the protocol (a numbered footnote) and N next to each number. ``value`` is null when a metric
was not computed; ``note`` then says why (missing weights, cross-identity set, …). ``provenance`` and
``integrity`` are read by :mod:`talkingface.report.runinfo`; files written before them render as "provenance
unknown" and "data checks not recorded".
"""
from __future__ import annotations

import json
from pathlib import Path

from talkingface.errors import KitError
from talkingface.fsutil import write_text_atomic
from talkingface.report.html import render_html
from talkingface.report.paper import paper_table_markdown
from talkingface.report.text import per_sample_csv, summary_markdown, summary_text

RESULTS_NAME = "full_results.json"


def write_reports(results: dict, out, examples: int = 3) -> dict:
    """Write every report file into ``out`` (each atomically); returns {kind: path}."""
    out = Path(out)
    paths = {"json": write_text_atomic(out / RESULTS_NAME, json.dumps(results, indent=1, default=str) + "\n"),
             "csv": write_text_atomic(out / "per_sample.csv", per_sample_csv(results)),
             "md": write_text_atomic(out / "summary.md", summary_markdown(results)),
             "txt": write_text_atomic(out / "evaluation_summary.txt", summary_text(results)),
             "paper": write_text_atomic(out / "paper_table.md", paper_table_markdown([("", results)]))}
    paths["html"] = write_text_atomic(out / "report.html", render_html(results, examples=examples))
    return paths


def load_results(path) -> dict:
    """A results folder (or its full_results.json) → the results dict; KitError when absent or invalid."""
    path = Path(path)
    file = path / RESULTS_NAME if path.is_dir() else path
    if not file.is_file():
        raise KitError(f"{file}: no evaluation results here (run `python -m talkingface evaluate` first)")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KitError(f"{file}: not a readable results file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise KitError(f"{file}: not an evaluation results file (no 'runs' list)")
    return data
