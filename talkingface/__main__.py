"""`python -m talkingface <command> …` — one thin dispatcher over the command modules in talkingface/cli/."""
from __future__ import annotations

import importlib
import sys
from typing import Sequence

from talkingface.errors import exit_process

# name -> (module under talkingface.cli, one-line summary). Each module has `main(argv) -> int`.
COMMANDS: dict[str, tuple[str, str]] = {
    "probe": ("probe", "print fps, frames, size, duration and audio of media files"),
    "normalize": ("normalize", "re-time a video to constant 25 fps with AAC audio"),
    "weights": ("weights", "status | verify | fetch the external weight files of checkpoints/manifest.yaml"),
    "sample": ("sample", "write the kit's embedded deterministic sample (evaluation_set layout)"),
    "make-evalset": ("evalset", "make an evaluation set with checked pairs from a test split (or --check one)"),
    "baseline": ("baseline", "write the static-source baseline (source image held for each driving clip)"),
    "evaluate": ("evaluate", "score generated folders of an evaluation set (NIQE, PSNR, SSIM, FID, LPIPS, LSE)"),
    "report": ("report", "render several evaluation result folders as one comparison table"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: python -m talkingface <command> [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", "Run `python -m talkingface <command> --help` for the options of a command."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"talkingface.cli.{COMMANDS[name][0]}")
    return module.main(rest)


if __name__ == "__main__":
    exit_process(main())      # torchrun workers end with os._exit (see there)
