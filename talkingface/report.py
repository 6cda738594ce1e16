"""Evaluation reports: full_results.json, per_sample.csv, summary.md, evaluation_summary.txt, report.html.

``full_results.json`` schema (written by :mod:`talkingface.evaluate`)::

    {"kit_version", "created", "environment": {torch, device, ffmpeg, …}, "args": {resolved runner options},
     "runs": [{"name", "mode": "self"|"cross"|"mixed", "generated_dir", "reference_dir", "source_dir",
               "n_samples", "n_failed", "n_evaluated", "n_cached", "n_computed", "n_frames", "error", "warnings",
               "seconds": {metric or stage: seconds spent},
               "metrics": {name: {"value", "std", "n", "n_frames"|"n_reference", "protocol", "lower_is_better",
                                  "kind", "note"}},
               "samples": [{"sample", "generated", "reference", "source", "same_identity", "n_frames", "error",
                            "values": {name: float}, "not_computable": {name: reason}, "notes", "extras"}]}]}

Every table states the protocol (a numbered footnote) and N next to each number. ``value`` is null when a metric
was not computed; ``note`` then says why (missing weights, cross-identity set, …).
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Iterable, Optional

from talkingface.config import write_atomic
from talkingface.errors import KitError

RESULTS_NAME = "full_results.json"


def write_reports(results: dict, out, examples: int = 3) -> dict:
    """Write every report file into ``out`` (each atomically); returns {kind: path}."""
    from talkingface.report_html import render_html

    out = Path(out)
    paths = {"json": write_atomic(out / RESULTS_NAME, json.dumps(results, indent=1, default=str) + "\n"),
             "csv": write_atomic(out / "per_sample.csv", per_sample_csv(results)),
             "md": write_atomic(out / "summary.md", summary_markdown(results)),
             "txt": write_atomic(out / "evaluation_summary.txt", summary_text(results))}
    paths["html"] = write_atomic(out / "report.html", render_html(results, examples=examples))
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


# ---------------------------------------------------------------------------------------------------- formatting
def fmt_number(value) -> str:
    if value is None:
        return "n/a"
    value = float(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if math.isnan(value):
        return "nan"
    return f"{value:.2f}" if abs(value) >= 10 else f"{value:.4f}"


def fmt_entry(entry: dict, with_n: bool = True) -> str:
    """``31.20 ± 1.10 (N=3)``; ``n/a`` when there is no value."""
    if not entry or entry.get("value") is None:
        return "n/a"
    text = fmt_number(entry["value"])
    if entry.get("std") is not None:
        text += f" ± {fmt_number(entry['std'])}"
    if with_n:
        text += f" (N={entry.get('n', 0)})"
    return text


def metric_names(runs: Iterable[dict]) -> list[str]:
    names: dict[str, None] = {}
    for run in runs:
        for name in run.get("metrics", {}):
            names.setdefault(name, None)
    return list(names)


class Footnotes:
    """Numbered footnotes for (metric, protocol) and for notes, in order of first use."""

    def __init__(self):
        self.items: dict[str, int] = {}

    def mark(self, text: Optional[str]) -> str:
        if not text:
            return ""
        if text not in self.items:
            self.items[text] = len(self.items) + 1
        return f"[{self.items[text]}]"

    def lines(self) -> list[str]:
        return [f"[{n}] {text}" for text, n in self.items.items()]


def _cell(entry: dict, notes: Footnotes, name: str) -> str:
    text = fmt_entry(entry)
    if entry.get("value") is not None and entry.get("protocol"):
        text += " " + notes.mark(f"{name}: {entry['protocol']}")
    if entry.get("note"):
        text += f" {notes.mark(entry['note'])}"
    return text.strip()


def table_rows(labelled: list, notes: Footnotes) -> tuple[list, list]:
    """(header, rows) of a results table: one row per (label, run), one column per metric."""
    runs = [run for _, res in labelled for run in res["runs"]]
    names = metric_names(runs)
    multi = len(labelled) > 1
    header = (["results"] if multi else []) + ["run", "mode", "samples", "failed"] + names
    rows = []
    for label, res in labelled:
        for run in res["runs"]:
            row = ([label] if multi else []) + [run["name"], run.get("mode", ""), str(run.get("n_evaluated",
                                                                                            run.get("n_samples", 0))),
                                                 str(run.get("n_failed", 0))]
            for name in names:
                entry = run.get("metrics", {}).get(name)
                row.append(_cell(entry, notes, name) if entry else "—")
            if run.get("error"):
                row[len(row) - len(names) - 1] += " " + notes.mark(run["error"])
            rows.append(row)
    return header, rows


def markdown_table(header: list, rows: list) -> str:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(esc, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
    return "\n".join(lines)


def summary_markdown(results: dict) -> str:
    notes = Footnotes()
    header, rows = table_rows([("", results)], notes)
    env = results.get("environment", {})
    lines = ["# Evaluation summary", "",
             f"kit {results.get('kit_version')} · {results.get('created')} · device {env.get('device')} · "
             f"torch {env.get('torch')} · ffmpeg {env.get('ffmpeg')}", "",
             markdown_table(header, rows), "", "Values are mean ± std over samples; N = samples (FID: frames).", ""]
    lines += [f"- {line}" for line in notes.lines()]
    warnings = [w for run in results["runs"] for w in run.get("warnings", [])]
    if warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in warnings]
    failed = [(run["name"], s) for run in results["runs"] for s in run.get("samples", []) if s.get("error")]
    if failed:
        lines += ["", f"## Failed samples ({len(failed)})", ""]
        lines += [f"- {name}/{s['sample']}: {s['error']}" for name, s in failed]
    return "\n".join(lines) + "\n"


def summary_text(results: dict) -> str:
    """The plain-text table of evaluation_summary.txt: one block per run, one line per metric."""
    notes = Footnotes()
    env = results.get("environment", {})
    lines = ["EVALUATION SUMMARY", "=" * 18,
             f"kit {results.get('kit_version')}   created {results.get('created')}",
             f"device {env.get('device')}   torch {env.get('torch')}   ffmpeg {env.get('ffmpeg')}", ""]
    for run in results["runs"]:
        lines.append(f"{run['name']}  ({run.get('mode')}; {run.get('n_evaluated', 0)} of {run.get('n_samples', 0)} "
                     f"samples evaluated, {run.get('n_failed', 0)} failed, {run.get('n_frames', 0)} frames)")
        if run.get("error"):
            lines.append(f"  error: {run['error']}")
        rows = [["metric", "value", "std", "N", "frames", "protocol / note"]]
        for name, e in run.get("metrics", {}).items():
            refs = " ".join(filter(None, [notes.mark(f"{name}: {e.get('protocol')}") if e.get("protocol") else "",
                                          notes.mark(e.get("note"))]))
            frames = e.get("n_frames", e.get("n_reference", ""))
            rows.append([name, fmt_number(e.get("value")), fmt_number(e["std"]) if e.get("std") is not None else "",
                         str(e.get("n", 0)) if e.get("value") is not None else "",
                         "" if frames in (None, "") else str(frames), refs])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        lines.append("")
    lines += ["Values: mean and std over samples; N = samples (FID: generated frames, 'frames' = reference frames)."]
    lines += notes.lines()
    return "\n".join(lines) + "\n"


def per_sample_csv(results: dict) -> str:
    names = metric_names(results["runs"])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["run", "mode", "sample", "generated", "reference", "source", "n_frames", "error"] + names
                    + ["not_computable", "notes"])
    for run in results["runs"]:
        for s in run.get("samples", []):
            values = s.get("values", {})
            writer.writerow([run["name"], run.get("mode"), s["sample"], s.get("generated"), s.get("reference") or "",
                             s.get("source") or "", s.get("n_frames"), s.get("error") or ""]
                            + ["" if values.get(n) is None else repr(float(values[n])) for n in names]
                            + ["; ".join(f"{k}: {v}" for k, v in s.get("not_computable", {}).items()),
                               "; ".join(s.get("notes", []))])
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------------- comparison
def comparison(folders: list) -> list:
    """Load several result folders → [(label, results)] (label = folder name, or its path when names clash)."""
    labelled = [(_label(Path(f), folders), load_results(f)) for f in folders]
    return labelled


def _label(path: Path, folders: list) -> str:
    names = [Path(f).name for f in folders]
    return path.name if names.count(path.name) == 1 else str(path)


def comparison_markdown(folders: list) -> str:
    labelled = comparison(folders)
    notes = Footnotes()
    header, rows = table_rows(labelled, notes)
    lines = ["# Evaluation comparison", "", markdown_table(header, rows), "",
             "Values are mean ± std over samples; N = samples (FID: frames)."]
    lines += [f"- {line}" for line in notes.lines()]
    lines += _protocol_clashes(labelled)
    return "\n".join(lines) + "\n"


def _protocol_clashes(labelled: list) -> list:
    seen: dict[str, set] = {}
    for _, res in labelled:
        for run in res["runs"]:
            for name, e in run.get("metrics", {}).items():
                if e.get("protocol") and e.get("value") is not None:
                    seen.setdefault(name, set()).add(e["protocol"])
    return [f"\n**Warning:** {name} was computed with different protocols; those numbers are not comparable."
            for name, protocols in seen.items() if len(protocols) > 1]


def write_comparison(folders: list, output) -> Path:
    """Write the comparison as .md or .html (chosen by the file extension)."""
    output = Path(output)
    if output.suffix.lower() in (".html", ".htm"):
        from talkingface.report_html import render_comparison

        return write_atomic(output, render_comparison(comparison(folders)))
    if output.suffix.lower() in (".md", ".markdown", ".txt"):
        return write_atomic(output, comparison_markdown(folders))
    raise KitError(f"{output}: --output must end in .html or .md")
