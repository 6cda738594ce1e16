"""`python -m talkingface make-evalset`: an evaluation set with correct pairs from a test split, or `--check DIR`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from talkingface.cli import CommandParser
from talkingface.errors import ConfigError, cli_main
from talkingface.evalset.build import EvalsetError, build_evalset
from talkingface.evalset.check import IDENTITY_RULES, PROVENANCE_NAME, check_evalset
from talkingface.evalset.clips import find_clips
from talkingface.outputs import refuse_input
from talkingface.provenance import kit_version


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="python -m talkingface make-evalset",
        description="Make an evaluation set (source_self/ gt_self/ source_cross/ gt_cross/, pairs.csv with the "
        "identity of every row, evalset.json) from a folder of test clips, sampled deterministically from --seed; "
        "it is checked before it is moved into place (self rows share an identity, cross rows never do, every "
        "file exists). With --check DIR: check an existing evaluation set and list its bad rows.",
    )
    parser.add_argument("input", nargs="?", help="folder of test clips: <identity>#<video>#<start>#<end>.mp4 (the "
                        "test split of `python -m dagan.preprocess`), or INPUT/<identity>/... with --identity_from "
                        "parent")
    parser.add_argument("out", nargs="?", help="the evaluation set folder to write (new or empty; see --overwrite)")
    parser.add_argument("--check", metavar="DIR", help="only check the evaluation set DIR and its pairs file; exit 1 "
                        "listing the bad rows")
    parser.add_argument("--pairs", help="with --check: the pairs file (default DIR/pairs.csv)")
    parser.add_argument("--self", dest="n_self", type=int, default=100, metavar="N",
                        help="same-identity rows (default 100; every clip when the split has fewer)")
    parser.add_argument("--cross", dest="n_cross", type=int, default=100, metavar="N",
                        help="cross-identity rows (default 100; at most one per clip as driving video)")
    parser.add_argument("--per_identity", type=int, metavar="K",
                        help="at most K rows per identity (cross rows: as driving and as source); default no cap "
                        "(identities are taken in turn anyway)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--identity_from", choices=IDENTITY_RULES, default="prefix",
                        help="prefix: the text before the first '#' of the file name (default); parent: the first "
                        "folder under INPUT")
    parser.add_argument("--source_frame", type=int, default=0,
                        help="frame of the clip used as the source image (default 0, as DaGAN's reconstruction)")
    parser.add_argument("--link", action="store_true",
                        help="hard-link the ground-truth clips instead of copying them (copy on another file system)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing, non-empty OUT (its generated folders included)")
    return parser


def _check(args) -> int:
    warnings: list[str] = []
    problems = check_evalset(args.check, args.pairs, warnings=warnings)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if problems:
        print(f"{args.check}: {len(problems)} problem(s):")
        for p in problems:
            print(f"  {p}")
        return 1
    print(f"{args.check}: every row is right")
    return 0


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.check:
        if args.input or args.out:
            parser.error("--check DIR takes no INPUT or OUT")
        return _check(args)
    if not args.input or not args.out:
        parser.error("INPUT and OUT are needed (or --check DIR)")
    if args.pairs:
        parser.error("--pairs is for --check only")
    refuse_input(args.out, [args.input], "OUT")
    clips = find_clips(args.input, args.identity_from)
    record = {"kit_version": kit_version(), "command": "python -m talkingface make-evalset " + " ".join(
        argv if argv is not None else sys.argv[2:])}
    try:
        report = build_evalset(clips, args.out, input_dir=args.input, n_self=args.n_self, n_cross=args.n_cross,
                               seed=args.seed, per_identity=args.per_identity, identity_from=args.identity_from,
                               source_frame=args.source_frame, link=args.link, overwrite=args.overwrite,
                               record=record)
    except EvalsetError as exc:
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        raise
    except OSError as exc:
        raise ConfigError(f"{args.out}: cannot write the evaluation set ({exc.strerror or exc})") from None
    for note in report.notes:
        print(f"note: {note}")
    print(f"evaluation set written to {Path(args.out)}: {report.count('self')} self and {report.count('cross')} "
          f"cross rows from {report.clips} clips of {report.identities} identities (checked; provenance in "
          f"{PROVENANCE_NAME})")
    return 0
