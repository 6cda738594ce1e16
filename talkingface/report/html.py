"""report.html: one self-contained page — inline CSS, inline SVG plots, images as base64 PNG data URIs.

No script, no external resource: the page opens offline and can be mailed as one file. The results table fits a
1366-px window: cells hold the number, ± std, N and footnote marks; notes are numbered footnotes below it
(checked in a real browser by scripts/check_report_layout.py, docs/reports.md).
"""
from __future__ import annotations

import html
from typing import Optional, Sequence

from talkingface.metrics.protocols import SPECS
from talkingface.report.examples import examples_html
from talkingface.report.plots import metric_plot
from talkingface.report.runinfo import (
    RANDOM,
    RANDOM_MARK,
    data_checks,
    flag,
    full_label,
    is_random,
    lower_is_better,
    provenance_line,
)
from talkingface.report.tables import Footnotes, cell_parts, metric_names, run_cells, table_header
from talkingface.report.text import VALUES_LINE, banner_lines
from talkingface.report.versus import comparisons, versus_html

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 6px;font-size:13px;
vertical-align:top;text-align:left}th{background:#f3f3f3;white-space:nowrap}
td.num{font-variant-numeric:tabular-nums}td.num span{white-space:nowrap}td.run{overflow-wrap:anywhere}
.n,.mk{color:#666;font-size:11px}tr.rnd{background:#fff3f3}tr.rnd td.num .v{color:#999;font-style:italic}
.badge{display:inline-block;padding:0 4px;border-radius:3px;font-size:11px;font-weight:700;color:#fff;
background:#b00020}.unknown{color:#8a5300;font-style:italic}
.banner{border:2px solid #b00020;background:#fff0f0;color:#8b0016;padding:8px 12px;margin:8px 0;font-weight:600}
.banner.warn{border-color:#c77700;background:#fff8e6;color:#6b4000}
.small,.notes{color:#555;font-size:12px}.notes{padding-left:18px;overflow-wrap:anywhere}.notes li{margin:1px 0}
.warn{color:#8a5300}.err{color:#a00}.runs{overflow-wrap:anywhere;font-size:13px}.runs li{margin:4px 0}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plot{border:1px solid #eee;padding:4px}
.examples{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;border:1px solid #eee;padding:6px}
figcaption{font-size:12px;color:#444;margin-top:4px}img{display:block;max-width:100%}
table.versus td:nth-child(8){color:#666;font-size:11px}
"""

esc = html.escape


def render_html(results: dict, examples: int = 3, papers: Sequence = (), run: Optional[str] = None) -> str:
    """report.html; ``papers`` (PublishedTable) adds the "Compared with the papers" section after the results."""
    env = results.get("environment", {})
    runs = results["runs"]
    notes = Footnotes()
    parts = [f"<h1>Evaluation report</h1><p class='small'>kit {esc(str(results.get('kit_version')))} · "
             f"{esc(str(results.get('created')))} · "
             + " · ".join(f"{esc(k)} {esc(str(v))}" for k, v in env.items()) + "</p>", _banners([("", results)]),
             "<h2>Results</h2>", results_table([("", results)], notes),
             f"<p class='small'>{esc(VALUES_LINE)} The marks refer to the notes below the table.</p>",
             notes_list(notes), _papers([("", results)], papers, run),
             "<h2>Runs: provenance and data checks</h2>", runs_list([("", results)]),
             _warnings(results), "<h2>Distributions</h2>" + distributions(runs)]
    if examples:
        parts.append(f"<h2>Best and worst samples</h2><p class='small'>source | ground truth | generated "
                     f"(middle frame of videos); best and worst {examples} when N ≥ {2 * examples + 1}, "
                     "else every sample once</p>" + "".join(examples_html(run, examples, _title(run))
                                                             for run in runs))
    parts.append(_failures(results))
    return page("Evaluation report", "\n".join(parts))


def render_comparison(labelled: list, papers: Sequence = (), run: Optional[str] = None) -> str:
    """The comparison page: every run named by its results folder, its generated folder and its label."""
    notes = Footnotes()
    body = ("<h1>Evaluation comparison</h1>" + _banners(labelled) + results_table(labelled, notes)
            + f"<p class='small'>{esc(VALUES_LINE)}</p>" + notes_list(notes) + _papers(labelled, papers, run)
            + "<h2>Runs: provenance and data checks</h2>" + runs_list(labelled))
    return page("Evaluation comparison", body)


def _papers(labelled: list, papers: Sequence, run: Optional[str]) -> str:
    return versus_html(comparisons(list(papers), labelled, run)) if papers else ""


def page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


def _title(run: dict) -> str:
    return f"{run['name']} ({RANDOM})" if is_random(run) else run["name"]


def _banners(labelled: list) -> str:
    return "".join(f"<div class='banner{' warn' if b.startswith('WARNING') else ''}'>{esc(b)}</div>"
                   for b in banner_lines(labelled))


def _label_html(run: dict, text: str) -> str:
    if is_random(run):
        return f"<span class='badge'>{esc(text)}</span>"
    return f"<span class='unknown'>{esc(text)}</span>" if run.get("provenance") is None else esc(text)


def results_table(labelled: list, notes: Footnotes) -> str:
    """The results table: [results,] run, label, mode, samples, failed, one column per metric."""
    header, names = table_header(labelled)
    out = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"]
    for folder, res in labelled:
        for run in res["runs"]:
            name, label, samples = run_cells(run, notes)
            cells = [f"<td class='run'>{_breakable(folder)}</td>"] if len(labelled) > 1 else []
            cells += [f"<td class='run'>{_breakable(name)}</td>", f"<td>{_label_html(run, label)}</td>",
                      f"<td>{esc(run.get('mode', ''))}</td>",
                      f"<td class='{'warn' if flag(run) else ''}'>{esc(samples)}</td>",
                      f"<td>{esc(str(run.get('n_failed', 0)))}</td>"]
            cells += [_metric_cell(run, m, notes) for m in names]
            out.append(f"<tr class='{'rnd' if is_random(run) else ''}'>" + "".join(cells) + "</tr>")
    return "".join(out) + "</table>"


def _breakable(text: str) -> str:
    """Escaped text that may wrap after ``_`` and ``/`` (long folder names), never inside a word."""
    return esc(text).replace("_", "_<wbr>").replace("/", "/<wbr>")


def _metric_cell(run: dict, name: str, notes: Footnotes) -> str:
    entry = run.get("metrics", {}).get(name)
    value, n, marks = cell_parts(entry, notes, name, run)
    parts = value.split(" ± ")
    if marks.startswith(RANDOM_MARK):                    # a random-weight value carries † right after the number
        parts[0], marks = parts[0] + RANDOM_MARK, marks[len(RANDOM_MARK):].strip()
    spans = [f"<span class='v'>{esc(v if i == 0 else '± ' + v)}</span>" for i, v in enumerate(parts)]
    if n:
        spans.append(f"<span class='n'>{esc(n)}</span>")
    if marks:
        spans.append(f"<span class='mk'>{esc(marks)}</span>")
    title = (entry or {}).get("protocol") or ""
    return f"<td class='num' title='{esc(title)}'>{' '.join(spans)}</td>"


def notes_list(notes: Footnotes) -> str:
    return "<ul class='notes'>" + "".join(f"<li>{esc(line)}</li>" for line in notes.lines()) + "</ul>"


def runs_list(labelled: list) -> str:
    """Per run: label, provenance (model, checkpoints and digests, settings, kit) and the data checks line."""
    items = []
    for folder, res in labelled:
        for run in res["runs"]:
            where = f"{esc(folder)} / " if len(labelled) > 1 else ""
            warn = f"<br><b class='warn'>⚠ {esc(flag(run))}</b>" if flag(run) else ""
            items.append(f"<li>{where}<b>{esc(run['name'])}</b> {_label_html(run, full_label(run))}<br>"
                         f"provenance: {esc(provenance_line(run))}<br>data checks: {esc(data_checks(run))}{warn}</li>")
    return "<ul class='runs'>" + "".join(items) + "</ul>"


def _warnings(results: dict) -> str:
    items = [w for run in results["runs"] for w in run.get("warnings", [])]
    if results.get("cache_note"):
        items.append(results["cache_note"])
    if not items:
        return ""
    return "<h2>Warnings</h2><ul class='warn'>" + "".join(f"<li>{esc(w)}</li>" for w in items) + "</ul>"


def _failures(results: dict) -> str:
    failed = [(run["name"], s) for run in results["runs"] for s in run.get("samples", []) if s.get("error")]
    if not failed:
        return ""
    return (f"<h2>Failed samples ({len(failed)})</h2><ul class='err'>"
            + "".join(f"<li>{esc(n)}/{esc(s['sample'])}: {esc(s['error'])}</li>" for n, s in failed) + "</ul>")


def _is_set_metric(runs: list, name: str) -> bool:
    kinds = {(r.get("metrics", {}).get(name) or {}).get("kind") for r in runs} - {None}
    spec = SPECS.get(name)
    return "set" in kinds or (not kinds and spec is not None and spec.kind == "set")


def distributions(runs: list) -> str:
    """Per metric and run: a strip plot (small N), a histogram (large N) or "N = 0"; set metrics say why not."""
    out = []
    for name in metric_names(runs):
        lower = lower_is_better(runs, name)
        head = f"<h3>{esc(name)} {'↓ lower' if lower else '↑ higher'} is better</h3>"
        if _is_set_metric(runs, name):
            out.append(head + "<p class='small'>a set metric: one value per run over all frames, no per-sample "
                              "distribution</p>")
            continue
        per_run = [(run, [s["values"].get(name) for s in run.get("samples", []) if not s.get("error")])
                   for run in runs if name in run.get("metrics", {})]
        if not any(v is not None for _, vals in per_run for v in vals):
            out.append(head + "<p class='small'>N = 0 in every run: no per-sample values (see the notes)</p>")
            continue
        charts = [f"<div class='plot'>{metric_plot(vals, _short(_title(run)))}</div>" for run, vals in per_run]
        out.append(head + f"<div class='plots'>{''.join(charts)}</div>")
    return "".join(out) or "<p class='small'>No per-sample values.</p>"


def _short(title: str, limit: int = 40) -> str:
    return title if len(title) <= limit else title[:limit - 1] + "…"
