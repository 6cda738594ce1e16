"""`python -m talkingface normalize IN OUT`: re-time a video to constant frame rate (25 fps) with AAC audio."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from talkingface.cli import CommandParser
from talkingface.errors import MediaError, cli_main
from talkingface.media import probe, to_constant_fps
from talkingface.media.writer import check_video_name
from talkingface.outputs import check_writable, refuse_input


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="python -m talkingface normalize",
        description="Re-time a video to constant frame rate (H.264 yuv420p, AAC audio), keeping its duration within "
        "one frame and its audio. Frames are dropped or repeated by nearest timestamp (ffmpeg's fps filter); odd "
        "sizes are padded by one pixel. The output is written atomically.",
    )
    parser.add_argument("input", metavar="IN", help="input video (any container/codec ffmpeg reads)")
    parser.add_argument("output", metavar="OUT", help="output video, e.g. out.mp4")
    parser.add_argument("--fps", type=float, default=25.0, help="target constant frame rate (default: 25)")
    parser.add_argument("--crf", type=int, default=18, help="libx264 quality, lower is better (default: 18)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it already exists")
    return parser


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.fps > 0:
        parser.error("--fps must be positive")
    check_video_name(args.output)                # before any work, like the checks below
    before = probe(args.input)
    refuse_input(args.output, [before.path], "output video")
    if Path(args.output).exists() and not args.overwrite:
        raise MediaError(f"{args.output}: already exists (use --overwrite to replace it)")
    check_writable(Path(args.output).parent, "output folder")
    after = to_constant_fps(before.path, args.output, fps=args.fps, crf=args.crf)
    note = "" if before.has_audio else " (the input has no audio)"
    print(f"{args.output}: {after.summary()}{note}")
    return 0
