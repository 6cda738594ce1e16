"""`python -m talkingface sample OUT`: write the kit's embedded deterministic sample."""
from __future__ import annotations

import argparse
from typing import Sequence

from talkingface.cli import CommandParser
from talkingface.errors import KitError, cli_main
from talkingface.sample import write_sample


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="python -m talkingface sample",
        description="Write the kit's embedded sample: the astronaut photo animated with head motion, a blink and "
        "speech-driven mouth, laid out as an evaluation set (source_self/ gt_self/ source_cross/ gt_cross/).",
    )
    parser.add_argument("out", help="output folder (created; existing sample files in it are overwritten)")
    return parser


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        description = write_sample(args.out)
    except OSError as exc:
        raise KitError(f"{args.out}: cannot write the sample ({exc.strerror or exc})") from None
    print(f"sample written to {args.out}: {len(description['files'])} files, {description['frames']} frames per clip")
    return 0
