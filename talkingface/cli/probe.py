"""`python -m talkingface probe FILE...`: one line per file (fps, frames, size, duration, audio) or why it fails."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from talkingface.cli import CommandParser
from talkingface.errors import KitError, MediaError, cli_main
from talkingface.media import probe


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="python -m talkingface probe",
        description="Print fps, frame count, size, duration and audio of media files, one line per file on stdout. "
        "A file that cannot be read gets one line on stderr saying why; the exit status is non-zero if any failed.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="video or audio files to inspect")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per readable file instead of the human-readable line")
    return parser


def _as_json(info) -> str:
    record = {name: getattr(info, name) for name in info.__dataclass_fields__}
    record["path"] = str(info.path)
    return json.dumps(record, sort_keys=True)


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    failed = 0
    for name in args.files:
        try:
            info = probe(name)
        except MediaError as exc:
            failed += 1
            print(f"error: {exc}", file=sys.stderr, flush=True)
            continue
        print(_as_json(info) if args.json else f"{name}: {info.summary()}", flush=True)
    return KitError.exit_code if failed else 0
