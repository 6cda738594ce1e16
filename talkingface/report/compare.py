"""Several evaluation result folders side by side: one comparison table (Markdown or HTML), and a paper table.

Every run is named by its results folder (the shortest trailing path that tells folders apart: two folders both
called ``evaluation`` become ``dagan/evaluation`` and ``baseline/evaluation``), its generated folder and its label.
"""
from __future__ import annotations

from pathlib import Path

from talkingface.errors import KitError
from talkingface.fsutil import write_text_atomic
from talkingface.report.results import load_results
from talkingface.report.tables import Footnotes, markdown_table, table_rows
from talkingface.report.text import VALUES_LINE, banner_markdown, runs_markdown


def comparison(folders: list) -> list:
    """Load several result folders → [(label, results)] (label: see folder_labels)."""
    return list(zip(folder_labels(folders), [load_results(f) for f in folders], strict=True))


def folder_labels(folders: list) -> list[str]:
    """Each folder's name, or as many trailing path parts as it takes to tell it from the others."""
    parts = [Path(f).resolve().parts for f in folders]
    labels = []
    for i, p in enumerate(parts):
        for k in range(1, len(p) + 1):
            label = "/".join(p[-k:])
            if all("/".join(q[-k:]) != label for j, q in enumerate(parts) if j != i):
                break
        labels.append(label.lstrip("/") or str(folders[i]))
    return labels


def comparison_markdown(folders: list) -> str:
    labelled = comparison(folders)
    notes = Footnotes()
    header, rows = table_rows(labelled, notes)
    banners = banner_markdown(labelled)
    lines = ["# Evaluation comparison", ""] + (banners + [""] if banners else [])
    lines += [markdown_table(header, rows), "", VALUES_LINE, ""]
    lines += [f"- {line}" for line in notes.lines()]
    lines += _protocol_clashes(labelled)
    lines += ["", "## Runs: provenance and data checks", ""] + runs_markdown(labelled)
    return "\n".join(lines) + "\n"


def _protocol_clashes(labelled: list) -> list:
    seen: dict[str, set] = {}
    for _, res in labelled:
        for run in res["runs"]:
            for name, e in run.get("metrics", {}).items():
                if e.get("protocol") and e.get("value") is not None:
                    seen.setdefault(name, set()).add(e["protocol"])
    return [f"\n**Warning:** {name} was computed with different protocols; those numbers are not comparable."
            for name, protocols in seen.items() if len(protocols) > 1]


def write_comparison(folders: list, output) -> Path:
    """Write the comparison as .md or .html (chosen by the file extension)."""
    output = Path(output)
    if output.suffix.lower() in (".html", ".htm"):
        from talkingface.report.html import render_comparison

        return write_text_atomic(output, render_comparison(comparison(folders)))
    if output.suffix.lower() in (".md", ".markdown", ".txt"):
        return write_text_atomic(output, comparison_markdown(folders))
    raise KitError(f"{output}: --output must end in .html or .md")


def write_paper_table(folders: list, output) -> Path:
    """paper_table.md for several result folders: one row per run, methods named by folder, run and label."""
    from talkingface.report.paper import paper_table_markdown

    return write_text_atomic(Path(output), paper_table_markdown(comparison(folders)))
