"""Inline SVG plots of per-sample values: a strip plot (every sample a dot, the mean marked) for small N, a
histogram for large N, and a box that says N = 0."""
from __future__ import annotations

import html

import numpy as np

from talkingface.report.tables import fmt_number

STRIP_MAX_N = 30           # up to this many samples every one is a dot; above, a histogram
WIDTH, HEIGHT = 260, 120

esc = html.escape


def finite_values(values) -> np.ndarray:
    return np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)


def metric_plot(values, title: str, better: str = "") -> str:
    """The plot that says something at this N: strip plot (N ≤ STRIP_MAX_N), histogram (larger N), or N = 0."""
    vals = finite_values(values)
    if len(vals) == 0:
        return _frame(title, f"<text x='{WIDTH / 2:.0f}' y='{HEIGHT / 2:.0f}' font-size='11' text-anchor='middle' "
                             "fill='#888'>N = 0: no per-sample values</text>")
    if len(vals) <= STRIP_MAX_N:
        return svg_strip(vals, title, better)
    return svg_histogram(vals, title, better=better)


def _frame(title: str, body: str, height: int = HEIGHT) -> str:
    return (f"<svg width='{WIDTH}' height='{height}' role='img' aria-label='{esc(title)}'>"
            f"<text x='{WIDTH / 2:.0f}' y='12' font-size='11' text-anchor='middle'>{esc(title)}</text>{body}</svg>")


def _range(vals: np.ndarray) -> tuple[float, float]:
    lo, hi = float(vals.min()), float(vals.max())
    if hi <= lo:
        pad = abs(lo) * 0.05 or 0.5
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.06
    return lo - pad, hi + pad


def _axis(lo: float, hi: float, x0: float, x1: float, y: float, caption: str) -> str:
    return (f"<line x1='{x0}' y1='{y}' x2='{x1}' y2='{y}' stroke='#444'/>"
            f"<text x='{x0}' y='{y + 13}' font-size='10'>{fmt_number(lo)}</text>"
            f"<text x='{x1}' y='{y + 13}' font-size='10' text-anchor='end'>{fmt_number(hi)}</text>"
            f"<text x='{(x0 + x1) / 2:.0f}' y='{y + 26}' font-size='10' text-anchor='middle' fill='#666'>"
            f"{esc(caption)}</text>")


def svg_strip(values, title: str, better: str = "") -> str:
    """Every sample a dot on one value axis (spread vertically so equal values stay visible), the mean a red bar."""
    vals = finite_values(values)
    x0, x1, top, base = 10, WIDTH - 10, 24, HEIGHT - 34
    lo, hi = _range(vals)
    pos = lambda v: x0 + (x1 - x0) * (v - lo) / (hi - lo)  # noqa: E731
    parts = []
    mid, step = (top + base) / 2, 8
    for v, level in zip(vals, _stack([pos(v) for v in vals], 8), strict=True):
        y = mid + step * ((level + 1) // 2) * (1 if level % 2 else -1)      # 0, +1, -1, +2, … rows around the middle
        parts.append(f"<circle cx='{pos(v):.1f}' cy='{min(max(y, top + 4), base - 4):.1f}' r='4' fill='#4a78b5' "
                     f"fill-opacity='0.75'><title>{fmt_number(v)}</title></circle>")
    mean = float(vals.mean())
    parts.append(f"<line x1='{pos(mean):.1f}' y1='{top}' x2='{pos(mean):.1f}' y2='{base}' stroke='#c0392b' "
                 f"stroke-width='2'><title>mean {fmt_number(mean)}</title></line>"
                 f"<text x='{min(max(pos(mean), 40), WIDTH - 40):.1f}' y='{top - 2}' font-size='9' fill='#c0392b' "
                 "text-anchor='middle'>"
                 f"mean {fmt_number(mean)}</text>")
    caption = f"N={len(vals)} sample{'s' if len(vals) != 1 else ''}, every one a dot" + (f"; {better}" if better
                                                                                       else "")
    return _frame(title, "".join(parts) + _axis(lo, hi, x0, x1, base, caption))


def _stack(xs: list, gap: float) -> list[int]:
    """A row per dot so that dots closer than ``gap`` px never share a row (a simple beeswarm)."""
    rows: list[list[float]] = []
    out = []
    for x in xs:
        level = next((i for i, row in enumerate(rows) if all(abs(x - o) >= gap for o in row)), len(rows))
        if level == len(rows):
            rows.append([])
        rows[level].append(x)
        out.append(level)
    return out


def svg_histogram(values, title: str, bins: int = 12, better: str = "") -> str:
    """A histogram of finite ``values`` (count axis on the left, value range below, the mean a red bar)."""
    vals = finite_values(values)
    pad_l, top, base = 28, 24, HEIGHT - 34
    w, h = WIDTH - pad_l - 6, base - top
    lo, hi = _range(vals)
    counts, edges = np.histogram(vals, bins=bins, range=(lo, hi))
    peak = max(int(counts.max()), 1)
    bw = w / bins
    parts = []
    for i, c in enumerate(counts):
        bh = h * c / peak
        parts.append(f"<rect x='{pad_l + i * bw + 0.5:.1f}' y='{base - bh:.1f}' width='{max(bw - 1, 1):.1f}' "
                     f"height='{bh:.1f}' fill='#4a78b5'><title>{fmt_number(edges[i])} – {fmt_number(edges[i + 1])}"
                     f": {int(c)}</title></rect>")
    mx = pad_l + w * (float(vals.mean()) - lo) / (hi - lo)
    parts.append(f"<line x1='{mx:.1f}' y1='{top}' x2='{mx:.1f}' y2='{base}' stroke='#c0392b' stroke-width='2'/>"
                 f"<line x1='{pad_l}' y1='{top}' x2='{pad_l}' y2='{base}' stroke='#444'/>"
                 f"<text x='{pad_l - 3}' y='{top + 8}' font-size='10' text-anchor='end'>{peak}</text>"
                 f"<text x='{pad_l - 3}' y='{base}' font-size='10' text-anchor='end'>0</text>")
    caption = f"N={len(vals)} samples, mean in red" + (f"; {better}" if better else "")
    return _frame(title, "".join(parts) + _axis(lo, hi, pad_l, pad_l + w, base, caption))
