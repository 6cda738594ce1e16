"""`python -m lawdnet.serve` — lip-sync as an HTTP service: the authors' ``POST /upload-audio`` and a job API.

    python -m lawdnet.serve --template face.mp4                       # 127.0.0.1:5828, weights from checkpoints/
    curl -F file=@speech.wav http://127.0.0.1:5828/upload-audio -o synced.mp4

The template video and the weights are loaded once at start (``GET /health`` says ``loading`` until then); each
request sends an audio file (field ``file``, any common format, recognised by its content) and gets the template
lip-synced to it as an mp4 with that audio. Long audio: ``POST /jobs`` → 202 + job id, ``GET /jobs/{id}``,
``GET /jobs/{id}/result``, ``DELETE /jobs/{id}``. Limits (upload size, audio length, queue bound, timeouts, API
key) are flags with safe defaults; docs/serving.md has the API, the status codes and the limits, docs/lawdnet.md the
lip-sync protocol. The model flags are ``python -m lawdnet.infer``'s.
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from lawdnet.cli.model_flags import (
    DEFAULT_FEATURES,
    DEFAULT_MOUTH,
    add_model_flags,
    check_model_flags,
    pick_device,
    weight_files,
)
from talkingface.cli import CommandParser
from talkingface.errors import KitError, cli_main

log = logging.getLogger("lawdnet")
DEFAULT_PORT = 5828            # the authors' server_LawDNet.py


def build_parser() -> argparse.ArgumentParser:
    from talkingface.serving import add_serve_arguments

    p = CommandParser(
        prog="python -m lawdnet.serve",
        description="Serve LawDNet (or DINet) lip-sync over HTTP: POST an audio file to /upload-audio (field "
                    "'file', the authors' API) and get the template video lip-synced to it; or use the job API "
                    "(/jobs) for long audio. Models and the template are loaded once, at start.")
    a = p.add_argument
    a("--template", "--video_path", dest="template", required=True,
      help="the template face video every answer is made from (any frame rate, size, length; re-timed to 25 fps; "
           "prepared once at start and cached)")
    add_model_flags(p)
    a("--batch_size", type=int, default=24, help="frames per generator call (default 24, the authors' server)")
    a("--start_time_sec", type=float, default=0.0, help="start of the template video used, in seconds (default 0)")
    add_serve_arguments(p, default_port=DEFAULT_PORT)
    return p


def service_config(args: argparse.Namespace):
    """The processor's config from the flags: the template is probed and the weight files found (every missing one
    named) before the server listens."""
    from lawdnet.pipeline import probe_template
    from lawdnet.service import LipSyncServiceConfig
    from lawdnet.template import default_cache_dir

    if args.batch_size < 1:
        raise KitError(f"--batch_size must be >= 1, got {args.batch_size}")
    if args.start_time_sec < 0:
        raise KitError(f"--start_time_sec must be >= 0, got {args.start_time_sec}")
    check_model_flags(args)
    video = probe_template(args.template, args.start_time_sec, "template video")
    features = args.features or DEFAULT_FEATURES[args.model]
    files = weight_files(args, features)
    return LipSyncServiceConfig(
        template=video.path, model=args.model, features=features, mouth=args.mouthsize or DEFAULT_MOUTH[args.model],
        device=pick_device(args), generator=files.get("generator"), feature_weights=files.get("features"),
        random_seed=args.random_model, landmarks=args.landmarks,
        landmarks_csv=Path(args.landmarks_csv) if args.landmarks_csv else None, batch_size=args.batch_size,
        start_s=args.start_time_sec, seed=args.seed,
        cache_dir=Path(args.template_cache) if args.template_cache else default_cache_dir())


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from lawdnet.service import LipSyncProcessor
    from talkingface.serving import serve, settings_from_args

    settings = settings_from_args(args)          # flag errors first, before any weights or media are touched
    processor = LipSyncProcessor(service_config(args))
    try:
        return serve(processor, settings)
    finally:
        processor.close()
