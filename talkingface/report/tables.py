"""Results as tables: number formatting, numbered footnotes (protocols, notes) and the rows of a results table.

A cell holds the number, ± std, N and footnote marks only; every note (protocol, missing weights, cross-identity
set, random weights, too few samples) is a footnote listed once below the table.
"""
from __future__ import annotations

import math
from typing import Iterable, Optional

from talkingface.report.runinfo import (
    RANDOM_MARK,
    RANDOM_NOTE,
    WARN,
    arrow,
    flag,
    is_random,
    long_label_note,
    samples_cell,
    short_label,
)


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
    """Numbered footnotes in order of first use, each distinct text once; ``about`` collects what a text is about
    (``[3] lse_c, lse_d: weights missing …``); ``symbol`` gives a text a fixed mark instead of a number (``†``)."""

    def __init__(self):
        self.items: dict[str, str] = {}
        self.about: dict[str, list] = {}

    def mark(self, text: Optional[str], about: Optional[str] = None, symbol: Optional[str] = None) -> str:
        if not text:
            return ""
        if text not in self.items:
            numbered = sum(1 for m in self.items.values() if m.startswith("["))
            self.items[text] = symbol or f"[{numbered + 1}]"
            self.about[text] = []
        if about and about not in self.about[text]:
            self.about[text].append(about)
        return self.items[text]

    def lines(self) -> list[str]:
        """``[n] about: text`` per footnote, the symbol marks (``† …``) first."""
        items = sorted(self.items.items(), key=lambda item: item[1].startswith("["))
        return [f"{m} {', '.join(self.about[t]) + ': ' if self.about[t] else ''}{t}" for t, m in items]


def cell_parts(entry: Optional[dict], notes: Footnotes, name: str, run: dict) -> tuple[str, str, str]:
    """(value ± std, N, marks) of one metric cell — never a path or a sentence."""
    if not entry:
        return "—", "", ""
    marks = []
    value = fmt_entry(entry, with_n=False)
    n = f"N={entry.get('n', 0)}" if entry.get("value") is not None else ""
    if entry.get("value") is not None:
        if is_random(run):
            marks.append(notes.mark(RANDOM_NOTE, symbol=RANDOM_MARK))
        if entry.get("protocol"):
            marks.append(notes.mark(entry["protocol"], about=name))
    if entry.get("note"):
        marks.append(notes.mark(entry["note"], about=name))
    return value, n, " ".join(m for m in marks if m)


def _cell(entry: dict, notes: Footnotes, name: str, run: dict) -> str:
    value, n, marks = cell_parts(entry, notes, name, run)
    return " ".join(filter(None, [value, f"({n})" if n else "", marks]))


def run_cells(run: dict, notes: Footnotes) -> tuple[str, str, str]:
    """(run, label, samples) cells with their marks: label footnote, run error, too-few-samples warning."""
    name = run["name"] + (" " + notes.mark(run["error"], about=run["name"]) if run.get("error") else "")
    label = short_label(run) + (" " + notes.mark(long_label_note(run), about=run["name"]) if long_label_note(run)
                                else "")
    samples = samples_cell(run)
    if flag(run):
        samples += f" {WARN}" + notes.mark(f"{run['name']}: {flag(run)}")
    return name, label, samples


def table_header(labelled: list) -> tuple[list, list]:
    """(header, metric names): [results,] run, label, mode, samples, failed, then ``psnr ↑`` per metric."""
    runs = [run for _, res in labelled for run in res["runs"]]
    names = metric_names(runs)
    header = (["results"] if len(labelled) > 1 else []) + ["run", "label", "mode", "samples", "failed"]
    return header + [f"{n} {arrow(runs, n)}" for n in names], names


def table_rows(labelled: list, notes: Footnotes) -> tuple[list, list]:
    """(header, rows) of a results table: one row per (label, run), one column per metric."""
    header, names = table_header(labelled)
    rows = []
    for label, res in labelled:
        for run in res["runs"]:
            name, run_label, samples = run_cells(run, notes)
            row = ([label] if len(labelled) > 1 else []) + [name, run_label, run.get("mode", ""), samples,
                                                             str(run.get("n_failed", 0))]
            row += [_cell(run.get("metrics", {}).get(m), notes, m, run) for m in names]
            rows.append(row)
    return header, rows


def markdown_table(header: list, rows: list) -> str:
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(esc, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
    return "\n".join(lines)
