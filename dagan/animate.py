"""`python -m dagan.animate` — animate a face image with a driving video (the DaGAN authors' demo.py, streamed).

    python -m dagan.animate --source_image face.png --driving_video driving.mp4 --relative --adapt_scale \
        --result_video out.mp4

Takes the authors' flags (``--config --checkpoint --source_image --driving_video --result_video --relative
--adapt_scale --kp_num --generator --find_best_frame --best_frame --cpu``) plus ``--depth_encoder --depth_decoder
--batch_size --fp16 --device``. Weights default to the manifest entries ``dagan_vox_adv_256``, ``depth_encoder`` and
``depth_decoder`` (checkpoints/). The result keeps the driving video's frame rate and audio; the configuration that
ran is written next to it as ``<result>.config.yaml``.

The result's folder must exist (a missing folder is reported, not created: a typo in a path should not scatter
folders); the video appears only when complete.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from talkingface.errors import KitError, cli_main

GENERATORS = ("DepthAwareGenerator", "SPADEDepthAwareGenerator")
RESULT_SUFFIXES = (".mp4", ".mov", ".mkv")


# ------------------------------------------------------------------------------ shared with dagan.generate
def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """The flags that choose and place the model (shared by dagan.animate and dagan.generate)."""
    a = p.add_argument
    a("--config", help="model config YAML (default: the built-in vox-adv-256 settings, config/dagan/vox-adv-256.yaml)")
    a("--checkpoint", help="DaGAN checkpoint .pth.tar, authors' format, DDP 'module.' prefixes accepted "
                           "(default: manifest entry dagan_vox_adv_256 in checkpoints/)")
    a("--depth_encoder", help="depth network encoder weights_19/encoder.pth (default: manifest entry depth_encoder)")
    a("--depth_decoder", help="depth network decoder weights_19/depth.pth (default: manifest entry depth_decoder)")
    a("--kp_num", type=int, default=15, help="number of keypoints of the checkpoint (default: 15, the published model)")
    a("--generator", default="DepthAwareGenerator",
      help="generator class of the checkpoint: DepthAwareGenerator (the published model, default); "
           "SPADEDepthAwareGenerator is not supported")
    a("--device", default="auto", help="auto (GPU when present) | cpu | cuda | cuda:N")
    a("--cpu", action="store_true", help="run on the CPU (same as --device cpu; the authors' flag)")
    a("--fp16", action="store_true", help="float16 autocast on CUDA (ignored on the CPU)")
    a("--batch_size", type=int, help="driving frames per network call (default: 16 on GPU, 4 on CPU)")
    a("--random_tiny_model", type=int, metavar="SEED",
      help="use a tiny randomly initialised model instead of weights (smoke tests only: RANDOM WEIGHTS, the output "
           "means nothing)")


def resolve_device(args: argparse.Namespace) -> str:
    """--cpu / --device as a torch device string; KitError for a device that does not exist here."""
    import torch

    if args.cpu:
        return "cpu"
    if args.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(args.device)
    except RuntimeError:
        raise KitError(f"--device {args.device}: not a device (use auto, cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise KitError(f"--device {args.device}: no CUDA GPU is available here; use --device cpu")
    return str(device)


def load_model_from_args(args: argparse.Namespace):
    """(model, weights record) from the model flags; KitError for unsupported or conflicting choices."""
    import dagan
    from dagan import pipeline
    from talkingface.weights import weight_path

    if args.generator not in GENERATORS:
        raise KitError(f"--generator {args.generator}: unknown; the kit builds DepthAwareGenerator")
    if args.generator != "DepthAwareGenerator":
        raise KitError(f"--generator {args.generator} is not supported: the kit builds DepthAwareGenerator, the "
                       f"generator of the published DaGAN_vox_adv_256.pth.tar")
    if args.batch_size is not None and args.batch_size < 1:
        raise KitError(f"--batch_size must be at least 1, got {args.batch_size}")
    device = resolve_device(args)
    if args.random_tiny_model is not None:
        given = [f"--{k}" for k in ("config", "checkpoint", "depth_encoder", "depth_decoder") if getattr(args, k)]
        if given:
            raise KitError(f"--random_tiny_model cannot be combined with {', '.join(given)}")
        logging.getLogger("dagan").warning("%s (tiny DaGAN, seed %d)", pipeline.RANDOM_LABEL, args.random_tiny_model)
        model = pipeline.random_model(args.random_tiny_model, tiny=True, device=device, fp16=args.fp16,
                                      batch_size=args.batch_size)
        return model, {"random": True, "label": pipeline.RANDOM_LABEL, "seed": args.random_tiny_model,
                       "size": "tiny"}
    files = {
        "checkpoint": Path(args.checkpoint) if args.checkpoint else weight_path("dagan_vox_adv_256"),
        "depth_encoder": Path(args.depth_encoder) if args.depth_encoder else weight_path("depth_encoder"),
        "depth_decoder": Path(args.depth_decoder) if args.depth_decoder else weight_path("depth_decoder"),
    }
    model = dagan.load_model(files["checkpoint"], files["depth_encoder"], files["depth_decoder"], config=args.config,
                             kp_num=args.kp_num, device=device, fp16=args.fp16, batch_size=args.batch_size)
    return model, {"random": False, **{k: str(v) for k, v in files.items()}, "config": args.config}


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"error: {text}"
        return f"warning: {text}" if record.levelno >= logging.WARNING else text


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (so captured streams in tests and notebooks work)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def setup_logging() -> None:
    """Messages of the dagan and talkingface loggers to stderr, one line each (warnings prefixed)."""
    for name in ("dagan", "talkingface"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
            handler = _StderrHandler()
            handler.setFormatter(_Formatter())
            logger.addHandler(handler)


# ------------------------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dagan.animate",
        description="Animate a source face image with a driving video (DaGAN, CVPR 2022). Streams the video in "
                    "chunks; keeps its frame rate and audio; writes <result>.config.yaml next to the result.")
    a = p.add_argument
    a("--source_image", required=True, help="source face image (any size; RGBA and grey accepted), or a video "
                                            "whose first frame is used")
    a("--driving_video", required=True, help="driving video (any size, frame rate and length)")
    a("--result_video", default="result.mp4", help="output video (.mp4, .mov or .mkv; its folder must exist; "
                                                   "default: result.mp4)")
    a("--relative", action=argparse.BooleanOptionalAction, default=False,
      help="relative keypoint motion, measured from the anchor frame (recommended; off by default like the "
           "authors' demo)")
    a("--adapt_scale", action=argparse.BooleanOptionalAction, default=False,
      help="scale the relative motion by the keypoint hulls' areas (with --relative)")
    a("--find_best_frame", action="store_true",
      help="measure relative motion from the driving frame whose face best matches the source's (landmarks); "
           "frame 0, with a warning, when no face is found")
    a("--best_frame", type=int, help="measure relative motion from this driving frame (0-based)")
    a("--landmarks", default="auto", choices=["auto", "face-alignment", "offline", "openface-csv"],
      help="landmark backend for --find_best_frame: auto (face-alignment when its weights are present, else "
           "offline), face-alignment, offline (OpenCV Haar face/eyes + mean shape: head pose only), openface-csv")
    a("--landmarks_csv", help="OpenFace CSV of the driving video (--landmarks openface-csv)")
    a("--source_landmarks_csv", help="OpenFace CSV of the source image (--landmarks openface-csv)")
    add_model_arguments(p)
    a("--no_progress", action="store_true", help="no progress bar")
    return p


def check_result_path(path: Path) -> None:
    if path.suffix.lower() not in RESULT_SUFFIXES:
        raise KitError(f"{path}: the result video must end with {', '.join(RESULT_SUFFIXES)}")
    if path.is_dir():
        raise KitError(f"{path}: is a directory; give a file name for the result video")
    if not path.parent.is_dir():
        raise KitError(f"{path}: output folder {path.parent} does not exist; create it first")


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    log = logging.getLogger("dagan")
    result = Path(args.result_video)
    check_result_path(result)
    if args.best_frame is not None and args.best_frame < 0:
        raise KitError(f"--best_frame must be >= 0, got {args.best_frame}")

    from dagan.pipeline import animate_video, read_source, run_record, write_record
    from talkingface.landmarks import make_backend
    from talkingface.media import VideoReader

    source = read_source(args.source_image)      # input errors first, before loading weights
    VideoReader(args.driving_video)              # probes: missing, empty, no video stream, no frames
    model, weights = load_model_from_args(args)
    backend = None
    if args.find_best_frame and args.best_frame is None:
        backend = make_backend(args.landmarks, device=str(model.device), csv_path=args.landmarks_csv,
                               image_csv_path=args.source_landmarks_csv)
    outcome = animate_video(model, source, args.driving_video, result, relative=args.relative,
                            adapt_scale=args.adapt_scale, best_frame=args.best_frame, landmarks=backend,
                            keep_audio=True, progress=not args.no_progress)
    options: dict[str, Any] = {k: getattr(args, k) for k in (
        "source_image", "driving_video", "result_video", "relative", "adapt_scale", "find_best_frame", "best_frame",
        "kp_num", "generator")}
    options["landmarks"] = backend.name if backend is not None else None
    record = run_record(model, weights, options)
    record["result"] = outcome.summary()
    config_path = write_record(record, result.with_name(result.stem + ".config.yaml"))
    label = f" [{weights['label']}]" if weights.get("random") else ""
    log.info("wrote %s (%d frames, %.3g fps, audio %s, anchor frame %d: %s) in %.1f s; config %s%s", result,
             outcome.frames, outcome.fps, "kept" if outcome.audio else "none", outcome.anchor_frame,
             outcome.anchor_reason, outcome.seconds, config_path, label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
