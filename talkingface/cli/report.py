"""`python -m talkingface report A B …` — several evaluation result folders as one comparison table."""
from __future__ import annotations

import argparse
from typing import Sequence

from talkingface.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m talkingface report",
        description="Render evaluation result folders (each with full_results.json) as one comparison table: "
                    "markdown on stdout, and --output as .html (self-contained) or .md. Each run is named by its "
                    "results folder, its generated folder and its label (RANDOM WEIGHTS, provenance unknown, …).")
    p.add_argument("folders", nargs="+", help="result folders written by `python -m talkingface evaluate`")
    p.add_argument("--output", help="also write the comparison to this file: comparison.html or comparison.md")
    p.add_argument("--paper", help="also write a paper-style Markdown table (one row per run, one column per "
                                   "metric with ↑/↓, values rounded as papers print them) to this file")
    return p


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    from talkingface.report import comparison_markdown, write_comparison, write_paper_table

    args = build_parser().parse_args(argv)
    print(comparison_markdown(args.folders), end="")
    if args.output:
        print(f"written: {write_comparison(args.folders, args.output)}")
    if args.paper:
        print(f"written: {write_paper_table(args.folders, args.paper)}")
    return 0
