"""`python -m talkingface report A B …` — several evaluation result folders as one comparison table."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from talkingface.cli import CommandParser
from talkingface.errors import OutputError, cli_main


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(
        prog="python -m talkingface report",
        description="Render evaluation result folders (each with full_results.json) as one comparison table: "
                    "markdown on stdout, and --output as .html (self-contained) or .md. Each run is named by its "
                    "results folder, its generated folder and its label (RANDOM WEIGHTS, provenance unknown, …).")
    p.add_argument("folders", nargs="+", help="result folders written by `python -m talkingface evaluate`")
    p.add_argument("--output", help="also write the comparison to this file: comparison.html or comparison.md")
    p.add_argument("--paper", help="also write a paper-style Markdown table (one row per run, one column per "
                                   "metric with ↑/↓, values rounded as papers print them) to this file")
    return p


def check_output(output: str, flag: str, inputs: list[Path]) -> None:
    """Before any work: the file ``flag`` names is no input (a folder's full_results.json), not a folder, and the
    nearest existing folder on its path is a writable folder (a file in the way is one line, not a traceback)."""
    from talkingface.outputs import check_writable, refuse_input

    path = Path(output)
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name for {flag}")
    refuse_input(path, inputs, f"{flag} file")
    check_writable(path.parent, f"{flag} folder")


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    from talkingface.report import RESULTS_NAME, comparison_markdown, write_comparison, write_paper_table

    args = build_parser().parse_args(argv)
    inputs = [Path(f) / RESULTS_NAME if Path(f).is_dir() else Path(f) for f in args.folders]
    for flag, output in (("--output", args.output), ("--paper", args.paper)):
        if output:
            check_output(output, flag, inputs)
    print(comparison_markdown(args.folders), end="")
    if args.output:
        print(f"written: {write_comparison(args.folders, args.output)}")
    if args.paper:
        print(f"written: {write_paper_table(args.folders, args.paper)}")
    return 0
