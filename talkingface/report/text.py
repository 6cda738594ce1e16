"""The text reports of an evaluation: summary.md, evaluation_summary.txt and per_sample.csv."""
from __future__ import annotations

import csv
import io

from talkingface.report.runinfo import (
    RANDOM_MARK,
    RANDOM_NOTE,
    data_checks,
    flag,
    full_label,
    is_random,
    provenance_line,
    random_banner,
)
from talkingface.report.tables import Footnotes, fmt_number, markdown_table, metric_names, table_rows

VALUES_LINE = "Values are mean ± std over samples; N = samples (FID: frames)."


def banner_lines(labelled: list) -> list[str]:
    """One line per random-weight run and per flagged run of [(results folder, results)]: what a reader must know
    before any number (the folder is named when there are several)."""
    runs = [(f"{folder}: " if len(labelled) > 1 else "", run) for folder, res in labelled for run in res["runs"]]
    out = [random_banner(run, where) for where, run in runs if is_random(run)]
    out += [f"WARNING: {where}{run['name']}: {flag(run)}" for where, run in runs if flag(run)]
    return out


def banner_markdown(labelled: list) -> list[str]:
    return [f"> **{b.split(':', 1)[0]}**:{b.split(':', 1)[1]}  " for b in banner_lines(labelled)]


def runs_markdown(labelled: list) -> list[str]:
    """Per run: its label, provenance and data checks (and the warning when its means are over too few samples)."""
    lines = []
    for folder, res in labelled:
        for run in res["runs"]:
            where = f"{folder}: " if len(labelled) > 1 else ""
            lines += [f"- {where}**{run['name']}** ({full_label(run)})", f"  - provenance: {provenance_line(run)}",
                      f"  - data checks: {data_checks(run)}"]
            if flag(run):
                lines.append(f"  - **warning: {flag(run)}**")
    return lines


def summary_markdown(results: dict) -> str:
    notes = Footnotes()
    header, rows = table_rows([("", results)], notes)
    env = results.get("environment", {})
    lines = ["# Evaluation summary", "",
             f"kit {results.get('kit_version')} · {results.get('created')} · device {env.get('device')} · "
             f"torch {env.get('torch')} · ffmpeg {env.get('ffmpeg')}", ""]
    banners = banner_markdown([("", results)])
    lines += banners + [""] if banners else []
    lines += [markdown_table(header, rows), "", VALUES_LINE, ""]
    lines += [f"- {line}" for line in notes.lines()]
    lines += ["", "## Runs: provenance and data checks", ""] + runs_markdown([("", results)])
    warnings = [w for run in results["runs"] for w in run.get("warnings", [])]
    if warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in warnings]
    failed = [(run["name"], s) for run in results["runs"] for s in run.get("samples", []) if s.get("error")]
    if failed:
        lines += ["", f"## Failed samples ({len(failed)})", ""]
        lines += [f"- {name}/{s['sample']}: {s['error']}" for name, s in failed]
    return "\n".join(lines) + "\n"


def summary_text(results: dict) -> str:
    """The plain-text table of evaluation_summary.txt (and the console): one block per run, one line per metric."""
    notes = Footnotes()
    env = results.get("environment", {})
    lines = ["EVALUATION SUMMARY", "=" * 18,
             f"kit {results.get('kit_version')}   created {results.get('created')}",
             f"device {env.get('device')}   torch {env.get('torch')}   ffmpeg {env.get('ffmpeg')}", ""]
    banners = banner_lines([("", results)])
    if banners:
        lines += [f"*** {b}" for b in banners] + [""]
    for run in results["runs"]:
        random = is_random(run)
        lines.append(f"{run['name']}  [{full_label(run)}]  ({run.get('mode')}; {run.get('n_evaluated', 0)} of "
                     f"{run.get('n_samples', 0)} samples evaluated, {run.get('n_failed', 0)} failed, "
                     f"{run.get('n_frames', 0)} frames)")
        lines += [f"  provenance: {provenance_line(run)}", f"  data checks: {data_checks(run)}"]
        if flag(run):
            lines.append(f"  WARNING: {flag(run)}")
        if run.get("error"):
            lines.append(f"  error: {run['error']}")
        rows = [["metric", "value", "std", "N", "frames", "protocol / note"]]
        for name, e in run.get("metrics", {}).items():
            has = e.get("value") is not None
            refs = " ".join(filter(None, [notes.mark(RANDOM_NOTE, symbol=RANDOM_MARK) if random and has else "",
                                          notes.mark(e.get("protocol"), about=name),
                                          notes.mark(e.get("note"), about=name)]))
            frames = e.get("n_frames", e.get("n_reference", ""))
            value = fmt_number(e.get("value")) + (f" {RANDOM_MARK}" if random and has else "")
            rows.append([name, value, fmt_number(e["std"]) if e.get("std") is not None else "",
                         str(e.get("n", 0)) if has else "", "" if frames in (None, "") else str(frames), refs])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        lines.append("")
    lines += ["Values: mean and std over samples; N = samples (FID: generated frames, 'frames' = reference frames)."]
    lines += notes.lines()
    return "\n".join(lines) + "\n"


def per_sample_csv(results: dict) -> str:
    """One row per sample; ``label`` says which model made it (``RANDOM WEIGHTS …``, ``provenance unknown``)."""
    names = metric_names(results["runs"])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    sharded = bool(results.get("sharding"))       # a merged sharded run: which shard scored each sample
    writer.writerow(["run", "label", "mode", "sample", "generated", "reference", "source", "n_frames", "error"]
                    + names + ["not_computable", "notes"] + (["shard"] if sharded else []))
    for run in results["runs"]:
        label = full_label(run)
        for s in run.get("samples", []):
            values = s.get("values", {})
            writer.writerow([run["name"], label, run.get("mode"), s["sample"], s.get("generated"),
                             s.get("reference") or "", s.get("source") or "", s.get("n_frames"), s.get("error") or ""]
                            + ["" if values.get(n) is None else repr(float(values[n])) for n in names]
                            + ["; ".join(f"{k}: {v}" for k, v in s.get("not_computable", {}).items()),
                               "; ".join(s.get("notes", []))]
                            + ([s.get("shard") or "this process"] if sharded else []))
    return buf.getvalue()
