"""`python -m talkingface report A B …` — several evaluation result folders as one comparison table, and
`--paper ID`: the runs against a published table (docs/reports.md, "Comparing with the papers")."""
from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Sequence

from talkingface.cli import CommandParser
from talkingface.errors import KitError, OutputError, cli_main

PAPER_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")   # config/reference/<id>.yaml
PAPER_OUTPUT = "paper_comparison.md"


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(
        prog="python -m talkingface report",
        description="Render evaluation result folders (each with full_results.json) as one comparison table: "
                    "markdown on stdout, and --output as .html (self-contained) or .md. Each run is named by its "
                    "results folder, its generated folder and its label (RANDOM WEIGHTS, provenance unknown, …). "
                    "--paper ID compares the runs with a published table (config/reference/ID.yaml).")
    p.add_argument("folders", nargs="*", help="result folders written by `python -m talkingface evaluate`")
    p.add_argument("--output", help="also write the comparison to this file: comparison.html or comparison.md "
                                    "(with --paper, it includes the 'Compared with the papers' section)")
    p.add_argument("--paper", action="append", default=[], metavar="ID",
                   help="compare with a published table: an id such as dagan-vox (repeatable); `--paper list` "
                        "lists the known tables. Prints our value, the paper's, ours − paper, the relative "
                        f"difference, better/worse and protocol notes, and writes FOLDER/{PAPER_OUTPUT} (one folder) "
                        "or --paper_output")
    p.add_argument("--paper_output", help=f"where --paper writes its comparison: .md (default FOLDER/{PAPER_OUTPUT} "
                                          "for one folder; printed only for several) or .html (a page of its own)")
    p.add_argument("--run", help="with --paper: compare only this run (a generated folder's name); default: the "
                                 "runs whose mode fits the table's setting (self for same-id, cross for cross-id)")
    p.add_argument("--paper_table", help="also write a paper-style Markdown table (one row per run, one column per "
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


def paper_ids(values: list[str]) -> list[str]:
    """The published-table ids of ``--paper``; a file name there (``table.md``) is a one-line error pointing at
    --paper_table, the flag that writes the paper-style table since --paper names published tables."""
    for value in values:
        if not PAPER_ID.match(value):
            raise KitError(f"--paper {value}: not a published table id (e.g. dagan-vox; `--paper list` lists them); "
                           f"to write the paper-style table to a file use --paper_table {value}")
    return list(values)


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    from talkingface.report import RESULTS_NAME, comparison_markdown, write_comparison, write_paper_table
    from talkingface.report.compare import paper_comparison_markdown, write_paper_comparison
    from talkingface.report.published import get_table, tables_listing

    args = build_parser().parse_args(argv)
    ids, paper_table = paper_ids(args.paper), args.paper_table
    if "list" in ids:
        print(tables_listing(), end="")
        return 0
    if not args.folders:
        raise KitError("give at least one result folder (or `--paper list` to list the published tables)")
    if (args.run or args.paper_output) and not ids:
        raise KitError("--run and --paper_output go with --paper ID (e.g. --paper dagan-vox)")
    tables = [get_table(i) for i in ids]
    inputs = [Path(f) / RESULTS_NAME if Path(f).is_dir() else Path(f) for f in args.folders]
    paper_output = args.paper_output
    if tables and not paper_output and len(args.folders) == 1:
        paper_output = str(inputs[0].parent / PAPER_OUTPUT)
    for flag, output in (("--output", args.output), ("--paper_table", paper_table), ("--paper_output", paper_output)):
        if output:
            check_output(output, flag, inputs)
    print(comparison_markdown(args.folders), end="")
    if tables:
        print("\n" + paper_comparison_markdown(args.folders, tables, args.run), end="")
    if args.output:
        print(f"written: {write_comparison(args.folders, args.output, tuple(tables), args.run)}")
    if paper_table:
        print(f"written: {write_paper_table(args.folders, paper_table)}")
    if tables and paper_output:
        print(f"written: {write_paper_comparison(args.folders, tables, paper_output, args.run)}")
    return 0
