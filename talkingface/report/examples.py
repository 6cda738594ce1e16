"""Best and worst samples of a run for report.html: ranked by one metric, shown as source | ground truth | generated.

Best k and worst k only when N ≥ 2·k + 1 (so no sample is both); below that every sample once, sorted, labelled
"all samples (N too small for best/worst)".
"""
from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Optional

from talkingface.report.runinfo import lower_is_better
from talkingface.report.tables import fmt_number
from talkingface.report.visuals import encode_png, middle_frame, side_by_side, thumbnail

# panels of an example: source | ground truth | generated (middle frame of videos), <= 256 px each
THUMB = 256
# metrics to rank best/worst samples by, in order of preference
RANK_ORDER = ("psnr", "ssim", "lpips", "niqe", "lse_c", "lse_d")
ALL_LABEL = "all samples (N too small for best/worst)"

esc = html.escape


def rank_metric(run: dict) -> Optional[str]:
    """The metric that orders samples best → worst: the first of RANK_ORDER with per-sample values."""
    for name in list(RANK_ORDER) + list(run.get("metrics", {})):
        if any(not s.get("error") and s.get("values", {}).get(name) is not None for s in run.get("samples", [])):
            return name
    return None


def example_groups(run: dict, k: int) -> tuple[Optional[str], list]:
    """(metric, [(group label, samples)]): best/worst when N ≥ 2k+1, else all samples sorted best → worst."""
    name = rank_metric(run)
    if name is None or k <= 0:
        return name, []
    lower = lower_is_better(run, name)
    scored = [s for s in run["samples"] if not s.get("error") and s["values"].get(name) is not None]
    scored.sort(key=lambda s: s["values"][name], reverse=not lower)
    if len(scored) >= 2 * k + 1:
        return name, [(f"best {k}", scored[:k]), (f"worst {k} (worst last)", scored[-k:])]
    return name, [(ALL_LABEL, scored)]


def examples_html(run: dict, k: int, title: str = "") -> str:
    name, groups = example_groups(run, k)
    if not groups:
        return ""
    lower = lower_is_better(run, name)
    parts = [f"<h3>{esc(title or run['name'])} — ranked by {esc(name)} ({'lower' if lower else 'higher'} is better,"
             f" best first)</h3>"]
    for label, group in groups:
        parts.append(f"<p class='small'>{esc(label)}</p><div class='examples'>"
                     + "".join(_figure(s, name) for s in group) + "</div>")
    return "".join(parts)


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
