"""The text reports of an evaluation: summary.md, evaluation_summary.txt and per_sample.csv."""
from __future__ import annotations

import csv
import io

from talkingface.report.tables import Footnotes, fmt_number, markdown_table, metric_names, table_rows


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
