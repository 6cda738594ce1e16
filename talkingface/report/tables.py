"""Results as tables: number formatting, numbered footnotes (protocols, notes) and the rows of a results table."""
from __future__ import annotations

import math
from typing import Iterable, Optional


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
