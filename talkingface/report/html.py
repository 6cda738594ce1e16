"""report.html: one self-contained page — inline CSS, inline SVG histograms, images as base64 PNG data URIs.

No script, no external resource: the page opens offline and can be mailed as one file.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Optional

import numpy as np

from talkingface.metrics.protocols import SPECS
from talkingface.report.tables import Footnotes, fmt_number, metric_names, table_rows
from talkingface.report.visuals import encode_png, middle_frame, side_by_side, thumbnail

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;
vertical-align:top}th{background:#f3f3f3}td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.small{color:#666;font-size:12px}.warn{color:#8a5300}.err{color:#a00}
.hists{display:flex;flex-wrap:wrap;gap:12px}.hist{border:1px solid #eee;padding:4px}
.examples{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;border:1px solid #eee;padding:6px}
figcaption{font-size:12px;color:#444;margin-top:4px}img{display:block;max-width:100%}
"""
# panels of a best/worst example: source | ground truth | generated (middle frame of videos), <= 256 px each
THUMB = 256
# metrics to rank best/worst samples by, in order of preference
RANK_ORDER = ("psnr", "ssim", "lpips", "niqe", "lse_c", "lse_d")

esc = html.escape


def render_html(results: dict, examples: int = 3) -> str:
    notes = Footnotes()
    header, rows = table_rows([("", results)], notes)
    env = results.get("environment", {})
    parts = [f"<h1>Evaluation report</h1><p class='small'>kit {esc(str(results.get('kit_version')))} · "
             f"{esc(str(results.get('created')))} · "
             + " · ".join(f"{esc(k)} {esc(str(v))}" for k, v in env.items()) + "</p>",
             "<h2>Results</h2>", _table(header, rows, results["runs"]),
             "<p class='small'>Values are mean ± std over samples; N = samples (FID: frames). "
             "The numbers in brackets refer to the protocols and notes below.</p>", _notes(notes)]
    parts.append(_warnings(results))
    parts.append("<h2>Distributions</h2>" + _histograms(results))
    if examples:
        parts.append("<h2>Best and worst samples</h2><p class='small'>source | ground truth | generated "
                     "(middle frame of videos)</p>" + "".join(_examples(run, examples) for run in results["runs"]))
    parts.append(_failures(results))
    return _page("Evaluation report", "\n".join(parts))


def render_comparison(labelled: list) -> str:
    notes = Footnotes()
    header, rows = table_rows(labelled, notes)
    runs = [run for _, res in labelled for run in res["runs"]]
    body = ("<h1>Evaluation comparison</h1>" + _table(header, rows, runs)
            + "<p class='small'>Values are mean ± std over samples; N = samples (FID: frames).</p>" + _notes(notes))
    return _page("Evaluation comparison", body)


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


def _table(header: list, rows: list, runs: list) -> str:
    names = metric_names(runs)
    first_metric = len(header) - len(names)
    out = ["<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"]
    for row, run in zip(rows, runs, strict=True):
        cells = []
        for i, value in enumerate(row):
            if i >= first_metric:
                entry = run.get("metrics", {}).get(names[i - first_metric]) or {}
                title = entry.get("protocol") or ""
                note = f"<div class='small'>{esc(entry['note'])}</div>" if entry.get("note") else ""
                cells.append(f"<td class='num' title='{esc(title)}'>{esc(value)}{note}</td>")
            else:
                cells.append(f"<td>{esc(value)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(out) + "</table>"


def _notes(notes: Footnotes) -> str:
    return "<ul class='small'>" + "".join(f"<li>{esc(line)}</li>" for line in notes.lines()) + "</ul>"


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


# ---------------------------------------------------------------------------------------------------- histograms
def svg_histogram(values, title: str, bins: int = 12, width: int = 260, height: int = 150) -> str:
    """An inline SVG histogram of finite ``values`` (count axis on the left, value range below)."""
    vals = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    pad_l, pad_b, pad_t = 28, 30, 18
    w, h = width - pad_l - 6, height - pad_b - pad_t
    parts = [f"<svg width='{width}' height='{height}' role='img' "
             f"aria-label='{esc(title)}'><text x='{width / 2:.0f}' y='12' font-size='11' text-anchor='middle'>"
             f"{esc(title)}</text>"]
    if len(vals) == 0:
        parts.append(f"<text x='{width / 2:.0f}' y='{height / 2:.0f}' font-size='11' text-anchor='middle' "
                     "fill='#888'>no values</text></svg>")
        return "".join(parts)
    lo, hi = float(vals.min()), float(vals.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(vals, bins=bins, range=(lo, hi))
    top = max(int(counts.max()), 1)
    bw = w / bins
    for i, c in enumerate(counts):
        bh = h * c / top
        parts.append(f"<rect x='{pad_l + i * bw + 0.5:.1f}' y='{pad_t + h - bh:.1f}' width='{max(bw - 1, 1):.1f}' "
                     f"height='{bh:.1f}' fill='#4a78b5'><title>{fmt_number(edges[i])} – {fmt_number(edges[i + 1])}"
                     f": {int(c)}</title></rect>")
    base = pad_t + h
    parts.append(f"<line x1='{pad_l}' y1='{base}' x2='{pad_l + w}' y2='{base}' stroke='#444'/>"
                 f"<line x1='{pad_l}' y1='{pad_t}' x2='{pad_l}' y2='{base}' stroke='#444'/>"
                 f"<text x='{pad_l - 3}' y='{pad_t + 8}' font-size='10' text-anchor='end'>{top}</text>"
                 f"<text x='{pad_l - 3}' y='{base}' font-size='10' text-anchor='end'>0</text>"
                 f"<text x='{pad_l}' y='{base + 13}' font-size='10'>{fmt_number(lo)}</text>"
                 f"<text x='{pad_l + w}' y='{base + 13}' font-size='10' text-anchor='end'>{fmt_number(hi)}</text>"
                 f"<text x='{pad_l + w / 2:.0f}' y='{base + 26}' font-size='10' text-anchor='middle' fill='#666'>"
                 f"N={len(vals)} samples</text></svg>")
    return "".join(parts)


def _histograms(results: dict) -> str:
    out = []
    for name in metric_names(results["runs"]):
        charts = []
        for run in results["runs"]:
            vals = [s["values"].get(name) for s in run.get("samples", []) if not s.get("error")]
            vals = [v for v in vals if v is not None]
            if vals:
                title = f"{name} — {run['name']}"
                charts.append(f"<div class='hist'>{svg_histogram(vals, title)}</div>")
        if charts:
            out.append(f"<h3>{esc(name)}</h3><div class='hists'>{''.join(charts)}</div>")
    return "".join(out) or "<p class='small'>No per-sample values.</p>"


# ---------------------------------------------------------------------------------------------------- examples
def rank_metric(run: dict) -> Optional[str]:
    """The metric that orders samples best → worst: the first of RANK_ORDER with per-sample values."""
    for name in list(RANK_ORDER) + list(run.get("metrics", {})):
        if any(not s.get("error") and s.get("values", {}).get(name) is not None for s in run.get("samples", [])):
            return name
    return None


def lower_is_better(run: dict, name: str) -> bool:
    """The direction of metric ``name``: what the results file recorded, else the metric's spec."""
    entry = run.get("metrics", {}).get(name, {})
    if "lower_is_better" in entry:
        return bool(entry["lower_is_better"])
    spec = SPECS.get(name)
    return spec.lower_is_better if spec is not None else True


def _examples(run: dict, k: int) -> str:
    name = rank_metric(run)
    if name is None:
        return ""
    lower = lower_is_better(run, name)
    scored = [s for s in run["samples"] if not s.get("error") and s["values"].get(name) is not None]
    scored.sort(key=lambda s: s["values"][name], reverse=not lower)
    best = scored[:k]
    worst = [s for s in scored[::-1][:k] if s not in best]
    html_parts = [f"<h3>{esc(run['name'])} — ranked by {esc(name)} "
                  f"({'lower' if lower else 'higher'} is better)</h3>"]
    for label, group in (("best", best), ("worst", worst)):
        if group:
            html_parts.append(f"<p class='small'>{label}</p><div class='examples'>"
                              + "".join(_figure(s, name) for s in group) + "</div>")
    return "".join(html_parts)


def _figure(sample: dict, name: str) -> str:
    caption = f"{sample['sample']}: {name} {fmt_number(sample['values'][name])}"
    try:
        img = example_image(sample)
        tag = f"<img alt='{esc(sample['sample'])}' src='data:image/png;base64,{img}'>"
    except Exception as exc:  # noqa: BLE001 — a missing image must not stop the report
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        tag = f"<div class='small'>(no image: {esc(why)})</div>"
    return f"<figure>{tag}<figcaption>{esc(caption)}</figcaption></figure>"


def example_image(sample: dict) -> str:
    """base64 PNG of source | ground truth | generated (middle frames), each panel ≤ THUMB px."""
    panels = []
    for key in ("source", "reference", "generated"):
        path = sample.get(key)
        if path and Path(path).is_file():
            try:
                panels.append(thumbnail(middle_frame(Path(path)), THUMB))
                continue
            except Exception:  # noqa: BLE001 — an unreadable panel becomes a grey placeholder
                if key == "generated":
                    raise
        panels.append(None)
    if panels[-1] is None:
        raise FileNotFoundError(f"{sample.get('generated')} is gone")
    return base64.b64encode(encode_png(side_by_side(panels, max_side=THUMB))).decode("ascii")
