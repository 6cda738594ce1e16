"""`python -m dagan.animate` — animate a face image with a driving video (the DaGAN authors' demo.py, streamed).

    python -m dagan.animate --source_image face.png --driving_video driving.mp4 --relative --adapt_scale \
        --result_video out.mp4

Takes the authors' flags (``--config --checkpoint --source_image --driving_video --result_video --relative
--adapt_scale --kp_num --generator --find_best_frame --best_frame --cpu``) plus ``--depth_encoder --depth_decoder
--batch_size --fp16 --device`` and the face crop for your own media, ``--crop auto [--paste_back] [--crop_every K]``
(docs/face_crop.md): the authors' demo expects VoxCeleb-like face crops; ``--crop auto`` makes them, and
``--paste_back`` puts the animated face back into your photo. Weights default to the manifest entries
``dagan_vox_adv_256``, ``depth_encoder`` and ``depth_decoder`` (checkpoints/). The result keeps the driving video's
frame rate and audio; the configuration that ran is written next to it as ``<result>.config.yaml``.

The result's folder must exist (a missing folder is reported, not created: a typo in a path should not scatter
folders); the video appears only when complete. The driving video is probed once, here, and that probe is used
all the way down (decoding, the audio track); it is decoded once, or twice with --find_best_frame, a --best_frame
after 0, or --crop auto (any combination of them: the crop's pass does the search too). With --crop auto the
source's face is looked for before the weights are loaded.
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dagan.cli import options
from talkingface.cli import CommandParser
from talkingface.errors import KitError, cli_main

RESULT_SUFFIXES = (".mp4", ".mov", ".mkv")


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(
        prog="python -m dagan.animate",
        description="Animate a source face image with a driving video (DaGAN, CVPR 2022). Streams the video in "
                    "chunks; keeps its frame rate and audio; writes <result>.config.yaml next to the result.")
    a = p.add_argument
    a("--source_image", required=True, help="source image, or a video whose first frame is used (RGBA and grey "
                                            "accepted): a face crop like VoxCeleb's, or any photo with --crop auto "
                                            "(reduced to 2048 px when larger; warned about under 64 px)")
    a("--driving_video", required=True, help="driving video (any frame rate and length): a face crop like "
                                             "VoxCeleb's, or any talking-head video with --crop auto")
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
      help=f"landmark backend / face detector for --find_best_frame and --crop auto: {options.LANDMARK_HELP}, "
           "openface-csv (landmarks from OpenFace CSVs; boxes from them)")
    a("--landmarks_csv", help="OpenFace CSV of the driving video (--landmarks openface-csv)")
    a("--source_landmarks_csv", help="OpenFace CSV of the source image (--landmarks openface-csv)")
    options.add_crop_arguments(p, landmarks=False)
    options.add_model_arguments(p)
    a("--no_progress", action="store_true", help="no progress bar")
    return p


def check_result_path(path: Path, inputs: list) -> None:
    """The result video's name, that it overwrites no input, and that its folder exists and is writable."""
    from talkingface.outputs import check_writable, refuse_input

    if path.suffix.lower() not in RESULT_SUFFIXES:
        raise KitError(f"{path}: the result video must end with {', '.join(RESULT_SUFFIXES)}")
    if path.is_dir():
        raise KitError(f"{path}: is a directory; give a file name for the result video")
    if not path.parent.is_dir():
        raise KitError(f"{path}: output folder {path.parent} does not exist; create it first")
    refuse_input(path, inputs, "result video")
    refuse_input(path.with_name(path.stem + ".config.yaml"), inputs, "record of the run")
    check_writable(path.parent, "result video's folder", create=False)


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.best_frame is not None and args.best_frame < 0:
        raise KitError(f"--best_frame must be >= 0, got {args.best_frame}")
    options.check_model_args(args)
    options.check_crop_args(args)

    from dagan.framing import frame_source
    from dagan.pipeline import animate_video, read_source
    from talkingface.landmarks import make_backend
    from talkingface.media import VideoReader

    source = read_source(args.source_image)      # input errors first, before loading weights
    driving = VideoReader(args.driving_video)    # the one probe: missing, empty, no video stream, no frames
    files = options.weight_files(args)                   # every missing weight file at once
    result = Path(args.result_video)
    check_result_path(result, [args.source_image, args.driving_video, args.config, args.landmarks_csv,
                               args.source_landmarks_csv, *files.values()])
    search = args.find_best_frame and args.best_frame is None
    backend = None
    if search or args.crop == "auto":
        backend = make_backend(args.landmarks, device=options.model_device(args), csv_path=args.landmarks_csv,
                               image_csv_path=args.source_landmarks_csv)
    face_crop = options.face_crop_from_args(args, backend)
    source = frame_source(source, args.source_image, face_crop)      # no face: exit 2 before loading weights
    model, weights = options.load_model_from_args(args, files)
    outcome = animate_video(model, source, driving, result, relative=args.relative, adapt_scale=args.adapt_scale,
                            best_frame=args.best_frame, landmarks=backend if search else None, keep_audio=True,
                            progress=not args.no_progress, crop=face_crop)
    ran: dict[str, Any] = {k: getattr(args, k) for k in (
        "source_image", "driving_video", "result_video", "relative", "adapt_scale", "find_best_frame", "best_frame",
        "kp_num", "generator")}
    ran["landmarks"] = backend.name if backend is not None else None
    ran["face_crop"] = face_crop.settings()
    record = options.run_record(model, weights, ran)
    record["result"] = outcome.summary()
    config_path = options.write_record(record, result.with_name(result.stem + ".config.yaml"))
    label = f" [{weights['label']}]" if weights.get("random") else ""
    logging.getLogger("dagan").info(
        "wrote %s (%d frames of %dx%d, %.3g fps, audio %s, anchor frame %d: %s) in %.1f s; config %s%s", result,
        outcome.frames, *outcome.output_size, outcome.fps, "kept" if outcome.audio else "none", outcome.anchor_frame,
        outcome.anchor_reason, outcome.seconds, config_path, label)
    return 0
