"""`python -m talkingface baseline`: the static-source baseline for an evaluation set."""
from __future__ import annotations

import argparse
from typing import Sequence

from talkingface.baseline import static_source_baseline
from talkingface.cli import CommandParser
from talkingface.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="python -m talkingface baseline",
        description="Write the static baseline: each source image held still for the length of the driving clip "
        "of the same file name, with that clip's fps and audio. Existing outputs are kept.",
    )
    parser.add_argument("--source_dir", required=True, help="folder of source images (e.g. evaluation_set/source_self)")
    parser.add_argument("--driving_dir", required=True, help="folder of driving videos (e.g. evaluation_set/gt_self)")
    parser.add_argument("--save_folder", required=True,
                        help="output folder, by convention evaluation_set/generate_baseline_self "
                        "(generate_baseline for the cross set)")
    return parser


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = static_source_baseline(args.source_dir, args.driving_dir, args.save_folder)
    print(f"baseline: {len(paths)} clips in {args.save_folder}")
    return 0
