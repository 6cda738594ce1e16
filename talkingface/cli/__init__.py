"""Command modules of `python -m talkingface`; each exposes `main(argv) -> int` and only parses and calls.

:class:`CommandParser` is the argument parser of every command of the kit (talkingface, dagan, syncnet): a usage
mistake is one line, ``error: <prog>: <what is wrong> (see <prog> --help)``, exit status 2 — the same shape as
every other error a command reports (:func:`talkingface.errors.cli_main`).
"""
from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class CommandParser(argparse.ArgumentParser):
    """argparse with one-line usage errors (argparse prints its whole usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)
