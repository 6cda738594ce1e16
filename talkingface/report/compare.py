"""Several evaluation result folders side by side: one comparison table (Markdown or HTML)."""
from __future__ import annotations

from pathlib import Path

from talkingface.errors import KitError
from talkingface.fsutil import write_text_atomic
from talkingface.report.results import load_results
from talkingface.report.tables import Footnotes, markdown_table, table_rows


def comparison(folders: list) -> list:
    """Load several result folders → [(label, results)] (label = folder name, or its path when names clash)."""
    labelled = [(_label(Path(f), folders), load_results(f)) for f in folders]
    return labelled


def _label(path: Path, folders: list) -> str:
    names = [Path(f).name for f in folders]
    return path.name if names.count(path.name) == 1 else str(path)


def comparison_markdown(folders: list) -> str:
    labelled = comparison(folders)
    notes = Footnotes()
    header, rows = table_rows(labelled, notes)
    lines = ["# Evaluation comparison", "", markdown_table(header, rows), "",
             "Values are mean ± std over samples; N = samples (FID: frames)."]
    lines += [f"- {line}" for line in notes.lines()]
    lines += _protocol_clashes(labelled)
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
