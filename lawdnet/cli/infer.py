"""`python -m lawdnet.infer` — re-sync the mouth of a face video to any speech audio (LawDNet, or DINet).

    python -m lawdnet.infer --video_path face.mp4 --audio_path speech.mp3 --output_dir results/

Takes the authors' parameters (``--video_path --audio_path --output_dir --deepspeech_model_path --lawdnet_model_path
--batch_size --mouthsize --gpu_index``; ``generate_video_with_audio`` of their ``inference_function*.py``) plus
``--features dp1|dp2 --model lawdnet|dinet --device --output --start_time_sec --max_frames`` and the landmark and
cache options. Any video (re-timed to 25 fps, any size), any audio (wav/mp3/m4a…, any rate, stereo); the output is
as long as the audio (the video plays back and forth when the audio is longer), 25 fps H.264 with the new audio,
written atomically, with ``<output>.config.yaml`` next to it saying what ran. Weights default to the manifest
entries (checkpoints/): ``lawdnet_epoch_170`` / ``dinet_clip_256mouth``, ``deepspeech_pytorch_librispeech`` (dp2),
``deepspeech_graph`` (dp1). docs/lawdnet.md has the whole protocol.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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

RESULT_SUFFIXES = (".mp4", ".mov", ".mkv")
log = logging.getLogger("lawdnet")


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(
        prog="python -m lawdnet.infer",
        description="Lip-sync a face video to any speech audio with LawDNet (or DINet). Streams the video; the "
                    "output is 25 fps, as long as the audio, carries the audio, and <output>.config.yaml records "
                    "what ran.")
    a = p.add_argument
    a("--video_path", required=True, help="template face video (any frame rate, size and length; re-timed to 25 fps)")
    a("--audio_path", required=True, help="speech audio (wav, mp3, m4a, or a video's audio track; any sample rate, "
                                          "mono or stereo): sets the output's length and sound")
    a("--output_dir", default="./output_video",
      help="folder of the output (created if missing; default ./output_video, the authors'); the file is "
           "<video>_<audio>_<model>.mp4 unless --output names it")
    a("--output", help="output video file (.mp4, .mov or .mkv; its folder must exist); overrides --output_dir")
    add_model_flags(p)
    a("--batch_size", type=int, default=20, help="frames per generator call (default 20, the authors')")
    a("--start_time_sec", type=float, default=0.0, help="start of the template video used, in seconds (default 0)")
    a("--max_frames", type=int, help="at most this many output frames (and template frames); default: all the "
                                     "audio")
    a("--no_cache", action="store_true", help="do not read or write the template cache")
    a("--no_progress", action="store_true", help="no progress bar")
    return p


def output_path(args: argparse.Namespace, model: str) -> Path:
    """The output file: --output, else <output_dir>/<video stem>_<audio stem>_<model>.mp4 (the folder is made
    only when the output is written: :func:`make_folders`)."""
    if args.output:
        path = Path(args.output)
        if not path.parent.is_dir():
            raise KitError(f"{path}: output folder {path.parent} does not exist; create it first")
    else:
        folder = Path(args.output_dir)
        if folder.exists() and not folder.is_dir():
            raise KitError(f"{folder}: --output_dir is not a folder")
        path = folder / f"{Path(args.video_path).stem}_{Path(args.audio_path).stem}_{model}.mp4"
    if path.suffix.lower() not in RESULT_SUFFIXES:
        raise KitError(f"{path}: the output video must end with {', '.join(RESULT_SUFFIXES)}")
    if path.is_dir():
        raise KitError(f"{path}: is a directory; give a file name for the output video")
    return path


def check_args(args: argparse.Namespace) -> None:
    if args.batch_size < 1:
        raise KitError(f"--batch_size must be >= 1, got {args.batch_size}")
    if args.max_frames is not None and args.max_frames < 1:
        raise KitError(f"--max_frames must be >= 1, got {args.max_frames}")
    if args.start_time_sec < 0:
        raise KitError(f"--start_time_sec must be >= 0, got {args.start_time_sec}")
    check_model_flags(args)


def make_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; the ones made, innermost first (removed again if the run fails)."""
    made = [p for p in [folder, *folder.absolute().parents] if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    return made


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check_args(args)
    features = args.features or DEFAULT_FEATURES[args.model]
    mouth = args.mouthsize or DEFAULT_MOUTH[args.model]

    from lawdnet.loading import load_extractor, load_lip_sync_model
    from lawdnet.pipeline import lip_sync_video, probe_speech, probe_template
    from lawdnet.record import write_record
    from lawdnet.template import default_cache_dir
    from talkingface.fsutil import remove_quietly
    from talkingface.landmarks import make_backend
    from talkingface.outputs import check_writable, refuse_input

    video = probe_template(args.video_path, args.start_time_sec)      # input errors first, before loading weights
    audio = probe_speech(args.audio_path)
    files = weight_files(args, features)
    out = output_path(args, args.model)
    refuse_input(out, [args.video_path, args.audio_path, args.landmarks_csv, *files.values()], "output video")
    record = out.with_name(out.stem + ".config.yaml")
    refuse_input(record, [args.video_path, args.audio_path], "record of the run")
    if record.is_dir():
        raise KitError(f"{record}: is a directory; the record of the run goes there (move it or choose another "
                       "output)")
    check_writable(out.parent, "output folder", create=True)
    device = pick_device(args)
    backend = make_backend(args.landmarks, device=device, csv_path=args.landmarks_csv)
    model, weights = load_lip_sync_model(args.model, mouth, device, files.get("generator"), args.random_model)
    extractor = load_extractor(features, device, files.get("features"), args.random_model)
    cache = None if args.no_cache else Path(args.template_cache) if args.template_cache else default_cache_dir()
    made = make_folders(out.parent)
    written = False
    try:
        result = lip_sync_video(model, video.path, audio.path, out, extractor, backend, batch_size=args.batch_size,
                                start_s=args.start_time_sec, max_frames=args.max_frames, seed=args.seed,
                                cache_dir=cache, progress=not args.no_progress)
        written = True
        ran: dict[str, Any] = {k: getattr(args, k) for k in ("video_path", "audio_path", "batch_size",
                                                             "start_time_sec", "max_frames", "seed", "landmarks",
                                                             "landmarks_csv")}
        ran.update(model=args.model, features=features, mouthsize=mouth, device=device, landmark_backend=backend.name,
                   template_cache=None if cache is None else str(cache))
        record_path = write_record(out, weights, ran, result.summary())
    except BaseException:
        if written:                    # no output without its record (which says what made it: RANDOM WEIGHTS …)
            remove_quietly(out)
        for folder in made:            # folders this run made, if still empty (innermost first)
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    label = f" [{weights['label']}]" if weights.get("random") else ""
    log.info("wrote %s (%d frames, %.1f s of audio, template %d frames%s) in %.1f s; record %s%s", out,
             result.frames, result.audio["seconds"], result.template["frames"],
             ", played back and forth" if result.template["ping_pong"] else "", result.seconds, record_path, label)
    return 0
