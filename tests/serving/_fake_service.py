"""A fake lip-sync service for the serving tests: ``FakeProcessor`` (no model) and a ``main`` that serves it.

    python tests/serving/_fake_service.py --port 5900 --results_dir /tmp/r --job_seconds 0.3

The processor's behaviour is chosen by the uploaded audio's sample rate (so a test picks it with the file it sends):

* 16000 Hz (or anything else): ``--job_seconds`` of work, calling progress() every 50 ms at most; the result is
  ``FAKE-RESULT\\n`` + the input's bytes, written atomically;
* 24000 Hz: a slow job, ``--slow_job_seconds`` of work (for timeouts and stopping mid-job);
* 11025 Hz: fails with a KitError (the client's fault: 422);
* 22050 Hz: fails with a RuntimeError (an internal error: 500).

``validate`` refuses audio shorter than 0.05 s (KitError: 422).
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __name__ == "__main__":                        # run as a script: the repository's package first
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from talkingface.cli import CommandParser  # noqa: E402
from talkingface.errors import KitError, cli_main  # noqa: E402
from talkingface.fsutil import atomic_path  # noqa: E402
from talkingface.serving import add_serve_arguments, serve, settings_from_args  # noqa: E402

RESULT_MAGIC = b"FAKE-RESULT\n"
SLOW_RATE, USER_ERROR_RATE, INTERNAL_ERROR_RATE = 24000, 11025, 22050
MIN_SECONDS = 0.05


def wav_info(path: Path) -> tuple[int, float]:
    """(sample rate, seconds) of a wav file; (0, 0.0) for anything else."""
    try:
        with wave.open(str(path), "rb") as w:
            return w.getframerate(), w.getnframes() / w.getframerate()
    except (wave.Error, EOFError, OSError):
        return 0, 0.0


class FakeProcessor:
    """Implements talkingface.serving.Processor without a model."""

    name = "fake"
    media_type = "video/mp4"
    result_suffix = ".mp4"

    def __init__(self, job_seconds: float = 0.3, slow_job_seconds: float = 5.0, load_seconds: float = 0.0,
                 fail_load: bool = False, steps: int = 10):
        self.job_seconds, self.slow_job_seconds = job_seconds, slow_job_seconds
        self.load_seconds, self.fail_load, self.steps = load_seconds, fail_load, steps
        self.loaded = False

    def load(self) -> None:
        time.sleep(self.load_seconds)
        if self.fail_load:
            raise KitError("fake: the weights file is missing")
        self.loaded = True

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "device": "cpu", "job_seconds": self.job_seconds}

    def validate(self, audio: Path) -> None:
        rate, seconds = wav_info(audio)
        if rate and seconds < MIN_SECONDS:
            raise KitError(f"the audio is {seconds:.3f} s long; at least {MIN_SECONDS} s are needed")

    def process(self, audio: Path, output: Path, progress: Callable[[float], None]) -> dict[str, Any]:
        rate, seconds = wav_info(audio)
        if rate == USER_ERROR_RATE:
            raise KitError("fake: no face found in the template video")
        if rate == INTERNAL_ERROR_RATE:
            raise RuntimeError("fake: an internal bug")
        total = self.slow_job_seconds if rate == SLOW_RATE else self.job_seconds
        steps = max(self.steps, int(total / 0.05))          # progress() at least every 50 ms
        for i in range(steps):
            progress(i / steps)
            time.sleep(total / steps)
        progress(1.0)
        with atomic_path(output) as tmp:
            tmp.write_bytes(RESULT_MAGIC + audio.read_bytes())
        return {"audio_seconds": seconds, "pid": os.getpid()}


@cli_main
def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="_fake_service.py", description="the serving tests' fake service")
    add_serve_arguments(parser, default_port=5828)
    parser.add_argument("--job_seconds", type=float, default=0.3, help="seconds a normal job takes")
    parser.add_argument("--slow_job_seconds", type=float, default=5.0, help="seconds a 24 kHz job takes")
    parser.add_argument("--load_seconds", type=float, default=0.0, help="seconds load() takes")
    parser.add_argument("--fail_load", action="store_true", help="load() fails")
    parser.add_argument("--shutdown_grace", type=float, default=2.0, help="seconds a stop waits")
    parser.add_argument("--upload_idle_seconds", type=float, default=60.0, help="seconds a stalled upload may wait")
    args = parser.parse_args(argv)
    settings = dataclasses.replace(settings_from_args(args), shutdown_grace=args.shutdown_grace,
                                   upload_idle_seconds=args.upload_idle_seconds)
    processor = FakeProcessor(args.job_seconds, args.slow_job_seconds, args.load_seconds, args.fail_load)
    return serve(processor, settings)


if __name__ == "__main__":
    sys.exit(main())
