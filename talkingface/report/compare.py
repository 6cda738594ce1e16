"""Several evaluation result folders side by side: one comparison table (Markdown or HTML), and a paper table.

Every run is named by its results folder (the shortest trailing path that tells folders apart: two folders both
called ``evaluation`` become ``dagan/evaluation`` and ``baseline/evaluation``), its generated folder and its label.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

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


def write_comparison(folders: list, output, papers: tuple = (), run: Optional[str] = None) -> Path:
    """Write the comparison as .md or .html (chosen by the file extension); ``papers`` (PublishedTable) add the
    "Compared with the papers" section."""
    output = Path(output)
    if output.suffix.lower() in (".html", ".htm"):
        from talkingface.report.html import render_comparison

        return write_text_atomic(output, render_comparison(comparison(folders), papers, run))
    if output.suffix.lower() in (".md", ".markdown", ".txt"):
        text = comparison_markdown(folders)
        return write_text_atomic(output, text + ("\n" + paper_comparison_markdown(folders, papers, run)
                                                 if papers else ""))
    raise KitError(f"{output}: --output must end in .html or .md")


def paper_comparison_markdown(folders: list, papers, run: Optional[str] = None) -> str:
    """paper_comparison.md: every selected run of every folder against every table in ``papers``."""
    from talkingface.report.versus import comparisons, versus_markdown

    labelled = comparison(folders)
    return versus_markdown(comparisons(list(papers), labelled if len(folders) > 1 else [("", labelled[0][1])], run))


def write_paper_comparison(folders: list, papers, output, run: Optional[str] = None) -> Path:
    """Write paper_comparison.md (.md) or a self-contained page with the section alone (.html)."""
    output = Path(output)
    if output.suffix.lower() in (".html", ".htm"):
        from talkingface.report.html import page
        from talkingface.report.versus import comparisons, versus_html

        labelled = comparison(folders)
        body = versus_html(comparisons(list(papers), labelled if len(folders) > 1 else [("", labelled[0][1])], run))
        return write_text_atomic(output, page("Compared with the papers", body))
    if output.suffix.lower() in (".md", ".markdown", ".txt"):
        return write_text_atomic(output, paper_comparison_markdown(folders, papers, run))
    raise KitError(f"{output}: --paper_output must end in .md or .html")


def write_paper_table(folders: list, output) -> Path:
    """paper_table.md for several result folders: one row per run, methods named by folder, run and label."""
    from talkingface.report.paper import paper_table_markdown

    return write_text_atomic(Path(output), paper_table_markdown(comparison(folders)))
