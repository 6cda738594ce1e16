"""How far a run is from a paper: our value, the paper's, ours − paper, the relative difference, better/worse by the
metric's direction, and a note wherever the two numbers are not the same measurement (protocol, N, random weights).

Rows are data (:class:`Versus`, :class:`Row`); :func:`versus_markdown` (``paper_comparison.md``) and
:func:`versus_html` (a section of report.html / comparison.html) render them. A cell holds a number, a word and
footnote marks; every sentence (protocol differs, weights missing: …, not computed, unverified) is a footnote.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Optional

from talkingface.report.published import DEFAULT, OPTIONS, PublishedTable, PublishedValue
from talkingface.report.runinfo import RANDOM_MARK, is_random, random_banner
from talkingface.report.tables import Footnotes, fmt_number, markdown_table

HEADER = ["metric", "ours", "paper", "ours − paper", "relative", "verdict", "paper value", "notes"]
#: the run modes that fit a paper's setting; a lip-sync table fits any run
MODES = {"same-id reconstruction": ("self",), "cross-id reenactment": ("cross",)}
NOT_A_RESULT = "the comparison tests the pipeline, it is no reproduction of the paper"


class PaperNotes(Footnotes):
    """Footnotes marked ``[p1]``, ``[p2]``…: never confused with the results table's ``[1]`` on the same page."""

    def mark(self, text: Optional[str], about: Optional[str] = None, symbol: Optional[str] = None) -> str:
        if text and text not in self.items and symbol is None:
            symbol = f"[p{sum(1 for m in self.items.values() if m.startswith('[')) + 1}]"
        return super().mark(text, about, symbol)


@dataclass
class Row:
    metric: str
    arrow: str
    ours: Optional[float]
    ours_n: str
    paper: PublishedValue
    diff: Optional[float] = None
    relative: Optional[float] = None          # percent of |paper|
    verdict: str = "—"
    notes: list = field(default_factory=list)  # footnote texts


@dataclass
class Versus:
    """One run of one results folder against one paper table."""

    table: PublishedTable
    folder: str
    run: dict
    rows: list
    notes: list = field(default_factory=list)  # about the whole comparison (setting, N, other metrics)

    @property
    def random(self) -> bool:
        return is_random(self.run)


def our_option(name: str, entry: dict, args: dict) -> Optional[str]:
    """The protocol option our value was computed with: from its protocol text, else the run's recorded args."""
    if name not in OPTIONS:
        return DEFAULT
    flag, options = OPTIONS[name]
    text = (entry or {}).get("protocol") or ""
    for option, option_text in options.items():
        if text == option_text:
            return option
    return (args or {}).get(flag.lstrip("-"))


def protocol_notes(name: str, ref: PublishedValue, entry: dict, args: dict) -> list:
    """Why our number and the paper's may not be the same measurement (empty when nothing is known to differ)."""
    notes = []
    if name in OPTIONS:
        flag, options = OPTIONS[name]
        ours = our_option(name, entry, args)
        described = options[ref.protocol] if options[ref.protocol] != ref.protocol else ref.protocol
        if ours is None:
            notes.append(f"protocol of our {name} not recorded; the paper's is {described}")
        elif ours != ref.protocol:
            notes.append(f"protocols differ: paper used {ref.protocol} ({described}), ours {ours}; rerun "
                         f"`python -m talkingface evaluate` with {flag} {ref.protocol} to compare")
    elif "NOT comparable" in ((entry or {}).get("protocol") or ""):
        notes.append(f"protocols differ: ours is {entry['protocol']}")
    if ref.protocol_note:
        notes.append(f"paper protocol: {ref.protocol_note}")
    return notes


def _paper_notes(ref: PublishedValue) -> list:
    if ref.value is None:
        return [f"paper value not recorded: {ref.note}"]
    out = [f"unverified: {ref.note}" if not ref.verified else f"verified ({ref.source_kind}): {ref.source}"]
    if ref.printed:
        out.append(f"the paper prints {ref.printed}; shown on the kit's scale ({ref.unit})")
    if ref.verified and ref.note:
        out.append(ref.note)
    return out


def compare_metric(name: str, ref: PublishedValue, run: dict, args: dict) -> Row:
    entry = (run.get("metrics") or {}).get(name)
    row = Row(name, "↓" if ref.lower_is_better else "↑", None, "", ref, notes=_paper_notes(ref))
    if entry is None:
        row.notes.append(f"not computed in this run (add {name} to `evaluate --metrics …`)")
        return row
    if entry.get("value") is None:
        row.notes.append(f"not computed: {entry.get('note') or 'no reason recorded in the results'}")
        return row
    row.ours = float(entry["value"])
    row.ours_n = f"N={entry.get('n', 0)}"
    row.notes += protocol_notes(name, ref, entry, args)
    if ref.value is None:
        return row
    row.diff = row.ours - ref.value
    row.relative = 100.0 * row.diff / abs(ref.value) if ref.value else None
    if abs(row.diff) <= 0.5 * 10 ** -ref.decimals + 1e-12:
        row.verdict = "same (rounding)"
    else:
        row.verdict = "better" if (row.diff < 0) == ref.lower_is_better else "worse"
    return row


def versus(table: PublishedTable, run: dict, args: Optional[dict] = None, folder: str = "") -> Versus:
    """Our run against the table: one row per metric the paper prints (in the table's order)."""
    rows = [compare_metric(name, ref, run, args or {}) for name, ref in table.metrics.items()]
    notes = [n_line(table, run)]
    modes = MODES.get(table.setting)
    if modes and run.get("mode") not in modes:
        notes.append(f"setting differs: the paper's table is {table.setting}, this run is {run.get('mode')}")
    if table.note:
        notes.append(f"paper: {table.note}")
    notes += [f"{name}: {text}" for name, text in table.other_metrics.items()]
    return Versus(table, folder, run, rows, notes)


def n_line(table: PublishedTable, run: dict) -> str:
    paper = f"{table.n} {table.n_unit}".strip() if table.n else "not recorded"
    if table.n_note:
        paper += f" ({table.n_note})"
    return f"N: paper {paper}; ours {run.get('n_evaluated', run.get('n_samples', 0))} samples evaluated"


def select_runs(table: PublishedTable, results: dict, run_name: Optional[str] = None) -> list:
    """The runs to compare: the one named, else those whose mode fits the setting, else every run."""
    from talkingface.errors import KitError

    runs = results.get("runs", [])
    if run_name:
        chosen = [r for r in runs if r.get("name") == run_name]
        if not chosen:
            raise KitError(f"no run {run_name!r} in the results; runs: {', '.join(r.get('name', '?') for r in runs)}")
        return chosen
    modes = MODES.get(table.setting)
    fitting = [r for r in runs if not modes or r.get("mode") in modes]
    return fitting or runs


def comparisons(tables: list, labelled: list, run_name: Optional[str] = None) -> list:
    """[Versus] for every table × results folder × selected run; ``labelled`` = [(folder label, results)]."""
    return [versus(t, run, res.get("args") or {}, folder) for t in tables for folder, res in labelled
            for run in select_runs(t, res, run_name)]


def _cells(row: Row, random: bool, notes: Footnotes) -> list:
    ref = row.paper
    dec = ref.decimals
    ours = "n/a" if row.ours is None else fmt_number(row.ours) + (RANDOM_MARK if random else "")
    marks = " ".join(notes.mark(n, about=row.metric) for n in row.notes)
    status = ("not retrieved" if ref.value is None else f"verified ({ref.source_kind})" if ref.verified
              else "unverified")
    return [f"{row.metric} {row.arrow}", " ".join(filter(None, [ours, f"({row.ours_n})" if row.ours_n else ""])),
            "—" if ref.value is None else f"{ref.value:.{dec}f}",
            "—" if row.diff is None else f"{row.diff:+.{dec + 1}f}",
            "—" if row.relative is None else f"{row.relative:+.1f} %", row.verdict, status, marks]


def title(v: Versus) -> str:
    where = f"{v.folder}: " if v.folder else ""
    return f"{v.table.id} — {where}{v.run.get('name')} vs {v.table.method} ({v.table.dataset} {v.table.split})"


def caption(v: Versus) -> str:
    p = v.table.paper
    return (f"{p.title}, {p.venue} ({p.url}), {v.table.table}; setting: {v.table.setting}. "
            "Directions: ↑ higher is better, ↓ lower is better; verdict by that direction, 'same (rounding)' when "
            "the difference is below the paper's last printed digit.")


def versus_markdown(items: list) -> str:
    """paper_comparison.md: per comparison, a caption, the table and its numbered notes."""
    lines = ["# Compared with the papers", ""]
    if not items:
        lines.append("No run to compare.")
    for v in items:
        notes = PaperNotes()
        rows = [_cells(r, v.random, notes) for r in v.rows]
        lines += [f"## {title(v)}", "", caption(v), ""]
        if v.random:
            lines += [f"> **{random_banner(v.run)}**; {NOT_A_RESULT}.", ""]
        lines += [markdown_table(HEADER, rows), ""]
        lines += [f"- {line}" for line in notes.lines()] + [f"- {n}" for n in v.notes] + [""]
    return "\n".join(lines)


def versus_html(items: list) -> str:
    """The report section: per comparison a heading, caption, banner (random weights), table and its notes; the
    footnotes are numbered across the section, each text listed once (like the results table's)."""
    esc = html.escape
    out = ["<h2>Compared with the papers</h2>"]
    if not items:
        out.append("<p class='small'>No run to compare.</p>")
    notes = PaperNotes()
    for v in items:
        rows = [_cells(r, v.random, notes) for r in v.rows]
        out.append(f"<h3>{esc(title(v))}</h3><p class='small'>{esc(caption(v))}</p>")
        if v.random:
            out.append(f"<div class='banner'>{esc(random_banner(v.run))}; {esc(NOT_A_RESULT)}</div>")
        body = "".join("<tr>" + "".join(f"<td class='{'num' if 0 < i < 5 else ''}'>{esc(c)}</td>"
                                        for i, c in enumerate(r)) + "</tr>" for r in rows)
        out.append("<table class='versus'><tr>" + "".join(f"<th>{esc(h)}</th>" for h in HEADER) + "</tr>"
                   + body + "</table>")
        out.append("<ul class='small'>" + "".join(f"<li>{esc(t)}</li>" for t in v.notes) + "</ul>")
    out.append("<ul class='notes'>" + "".join(f"<li>{esc(t)}</li>" for t in notes.lines()) + "</ul>")
    return "".join(out)
