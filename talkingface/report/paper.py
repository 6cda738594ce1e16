"""paper_table.md: one row per run, one column per metric with ↑/↓, values rounded as papers print them.

Method = generated folder + label; N (once per row), protocols and notes are footnotes below the table; every value of a
random-weight run carries † ("random weights: not a result").
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Optional

from talkingface.report.runinfo import RANDOM_MARK, RANDOM_NOTE, WARN, arrow, flag, is_random, short_label
from talkingface.report.tables import Footnotes, markdown_table, metric_names

PAPER_NAMES = {"psnr": "PSNR", "ssim": "SSIM", "lpips": "LPIPS", "fid": "FID", "niqe": "NIQE", "lse_c": "LSE-C",
               "lse_d": "LSE-D"}
DECIMALS = {"psnr": 2, "ssim": 3, "lpips": 3, "fid": 2, "niqe": 2, "lse_c": 3, "lse_d": 3}
MISSING = "–"


def paper_number(value, name: str) -> str:
    value = float(value)
    if not math.isfinite(value):
        return "∞" if value > 0 else ("−∞" if value < 0 else "nan")
    return f"{value:.{DECIMALS.get(name, 3)}f}"


def method_name(run: dict, folder: str = "") -> str:
    """``generate_dagan_self (RANDOM WEIGHTS)``; prefixed by the results folder when several are compared."""
    name = f"{run['name']} ({short_label(run)})"
    return f"{folder}: {name}" if folder else name


def n_text(entry: dict) -> str:
    if entry.get("kind") == "set" or "n_reference" in entry:
        ref = entry.get("n_reference")
        return f"N = {entry.get('n', 0)} generated frames" + (f" vs {ref} reference frames" if ref else "")
    frames = entry.get("n_frames")
    n = entry.get("n", 0)
    return f"N = {n} sample{'' if n == 1 else 's'}" + (f" ({frames} frames)" if frames else "")


def _protocols(runs: list, name: str) -> set:
    return {(r.get("metrics", {}).get(name) or {}).get("protocol") for r in runs
            if (r.get("metrics", {}).get(name) or {}).get("value") is not None} - {None}


def _value(entry: Optional[dict], name: str, run: dict, notes: Footnotes, per_cell_protocol: bool,
           row_n: str) -> str:
    if not entry:
        return MISSING
    if entry.get("value") is None:
        return f"{MISSING} {notes.mark(entry.get('note'), about=name)}".strip()
    text = paper_number(entry["value"], name) + (RANDOM_MARK if is_random(run) else "")
    if is_random(run):
        notes.mark(RANDOM_NOTE, symbol=RANDOM_MARK)
    marks = [notes.mark(n_text(entry), about=name) if n_text(entry) not in row_n else ""]
    if per_cell_protocol:
        marks.append(notes.mark(entry.get("protocol"), about=name))
    marks.append(notes.mark(entry.get("note"), about=name))
    return " ".join([text] + [m for m in marks if m])


def row_n_text(run: dict) -> str:
    """The N of a row, said once: the samples most of its metrics are over, and each set metric's frames."""
    entries = {n: e for n, e in run.get("metrics", {}).items() if e and e.get("value") is not None}
    per_sample = Counter(n_text(e) for e in entries.values() if e.get("kind") != "set" and "n_reference" not in e)
    parts = [per_sample.most_common(1)[0][0]] if per_sample else []
    parts += [f"{PAPER_NAMES.get(n, n.upper())}: {n_text(e)}" for n, e in entries.items()
              if e.get("kind") == "set" or "n_reference" in e]
    return "; ".join(parts)


def paper_table(labelled: list) -> tuple[list, list, Footnotes]:
    """(header, rows, footnotes) for [(results folder label, results)]."""
    notes = Footnotes()
    runs = [run for _, res in labelled for run in res["runs"]]
    names = metric_names(runs)
    header = ["Method"]
    for name in names:
        protos = _protocols(runs, name)
        mark = notes.mark(next(iter(protos)), about=name) if len(protos) == 1 else ""
        header.append(" ".join(filter(None, [f"{PAPER_NAMES.get(name, name.upper())} {arrow(runs, name)}", mark])))
    rows = []
    for folder, res in labelled:
        for run in res["runs"]:
            method = method_name(run, folder if len(labelled) > 1 else "")
            row_n = row_n_text(run)
            marks = [notes.mark(f"{method}: {row_n}") if row_n else ""]
            if flag(run):
                marks.append(WARN + notes.mark(f"{method}: {flag(run)}"))
            rows.append([" ".join([method] + [m for m in marks if m])]
                        + [_value(run.get("metrics", {}).get(n), n, run, notes, len(_protocols(runs, n)) > 1, row_n)
                           for n in names])
    return header, rows, notes


def paper_table_markdown(labelled: list) -> str:
    header, rows, notes = paper_table(labelled)
    lines = ["# Results, as a paper prints them", "", markdown_table(header, rows), "",
             "↑ higher is better, ↓ lower is better. Values are means over samples (FID: over all frames); "
             f"{MISSING} = not computed."]
    if any(is_random(run) for _, res in labelled for run in res["runs"]):
        lines.append(f"Rows marked {RANDOM_MARK} were made with RANDOM WEIGHTS: they test the pipeline, they are "
                     "not results of any model.")
    return "\n".join(lines + [""] + [f"- {line}" for line in notes.lines()]) + "\n"
