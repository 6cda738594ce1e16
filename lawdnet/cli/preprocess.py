"""`python -m lawdnet.preprocess` — raw talking-head videos -> LawDNet/DINet training data in the authors' layout.

    python -m lawdnet.preprocess --input_dir raw/ --output_dir asserts/training_data --extract_video_frame \\
        --extract_audio --extract_deep_speech --crop_face --generate_training_json --workers 2

Takes the step flags of the authors' ``data_processing_正脸化.py`` (each step alone or together; a later run adds a
step and reads what the earlier ones wrote) with ``--workers N`` in place of their ``*_multithreading`` flags, plus
``--shard i/n``, the landmark source, the feature models and the crop settings. Any video (any fps: re-timed to 25
fps CFR; any size, codec, length); a broken video fails alone with its reason in ``preprocess_report.json``;
finished steps are never redone; ``--max_minutes M`` skips videos longer than M minutes (recorded with their duration
and the reason). docs/lawdnet_preprocess.md describes the layout and the report.
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from lawdnet import config
from talkingface.cli import CommandParser
from talkingface.errors import KitError, cli_main

FEATURE_ENTRY = config.FEATURE_WEIGHTS
STEP_FLAGS = {"extract_video_frame": "frames", "extract_audio": "audio", "extract_deep_speech": "features",
              "crop_face": "crops", "generate_training_json": "json"}
log = logging.getLogger("lawdnet")


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(
        prog="python -m lawdnet.preprocess",
        description="Make LawDNet/DINet training data from raw talking-head videos: 25 fps frames, 16 kHz audio, "
                    "DeepSpeech features (dp1, dp2), 832x640 aligned face crops per 9-frame clip and the training "
                    "JSON, in the authors' folder layout. Resumable, sharded, one report.")
    a = p.add_argument
    a("--extract_video_frame", action="store_true", help="step 1: frames, re-timed to 25 fps, as %%06d.jpg")
    a("--extract_audio", action="store_true", help="step 2: audio as 16 kHz mono 16-bit wav")
    a("--extract_deep_speech", action="store_true", help="step 3: DeepSpeech features of --features (needs step 2)")
    a("--crop_face", action="store_true", help="step 4: landmarks and aligned 832x640 crops per clip (needs step 1)")
    a("--generate_training_json", action="store_true",
      help="step 5: training_json/training_json.json from the crops and features (needs steps 3 and 4)")
    a("--input_dir", help="folder of raw videos (searched recursively; needed by steps 1-4; with step 5 alone it "
                          "limits the JSON to these videos, else every cropped video in --output_dir)")
    a("--output_dir", default="./asserts/training_data",
      help="training data root (default ./asserts/training_data, the authors')")
    a("--workers", type=int, default=1, help="videos processed in parallel (worker processes; default 1)")
    a("--threads", type=int, default=1, help="threads of each worker for torch, OpenCV, video decoding and encoding "
                                            "(default 1: one process per core scales better than threads; raise it "
                                            "when workers < cores)")
    a("--shard", help="i/n: process only this shard's videos (several machines share one dataset; each writes "
                      "its own report and JSON)")
    a("--landmarks", default="auto", choices=["auto", "face-alignment", "offline", "openface-csv"],
      help="68 landmarks for the crops: auto (face-alignment when its weights are in checkpoints/, else offline), "
           "face-alignment, offline (Haar + mean shape: no expression), openface-csv (--openface_dir, DINet's way)")
    a("--openface_dir", help="OpenFace FeatureExtraction CSVs, <video>.csv per video, one row per 25 fps frame "
                             "(implies --landmarks openface-csv)")
    a("--features", default="dp1,dp2",
      help="features to compute and put in the JSON: dp1 (DeepSpeech v0.1 graph -> deep_speech_list, DINet and "
           "LawDNet's SyncNet), dp2 (deepspeech.pytorch -> deep_speech_dp2_list, LawDNet's generator); default both")
    a("--deepspeech_model_path", help="DeepSpeech v0.1 output_graph.pb for dp1 (default: manifest entry "
                                      "deepspeech_graph)")
    a("--dp2_model_path", help="deepspeech.pytorch LibriSpeech_Pretrained_v3.ckpt for dp2 (default: manifest entry "
                               "deepspeech_pytorch_librispeech)")
    a("--random_model", type=int, metavar="SEED",
      help="smoke tests only: a tiny random dp2 network instead of weights, and a tiny random dp1 graph unless "
           "--deepspeech_model_path is given (RANDOM WEIGHTS: the features mean nothing)")
    a("--clip_length", type=int, default=9, help="frames per clip (default 9, the authors')")
    a("--crop_width", type=int, default=640, help="crop width; the height is int(1.3 x width) (default 640 -> 832x640)")
    a("--min_clips", type=int, default=6, help="videos with fewer clips are left out of the JSON (default 6: the "
                                               "authors' dataset draws 6 distinct clips)")
    a("--json_path_root", help="write frame_path_list as <this>/split_video_25fps_crop_face/… (the folder as the "
                               "training code will see it, e.g. ./asserts/training_data); default: the absolute "
                               "--output_dir")
    a("--max_minutes", type=float, metavar="M",
      help="skip videos longer than M minutes: each is recorded in preprocess_report.json as skipped with its "
           "duration and the reason (e.g. '2:00:00 long, over --max_minutes 60'), no step runs on it and nothing is "
           "marked done, so a later run with a higher limit or none processes it (default: no limit; frames are "
           "streamed, but a 2-hour video is 180,000 frames at 25 fps and its DeepSpeech features hold its whole "
           "audio in memory)")
    a("--device", default="auto", help="cpu | cuda | cuda:N | auto (default)")
    a("--no_progress", action="store_true", help="no progress bar")
    return p


def plan_from_args(args: argparse.Namespace):
    """The :class:`lawdnet.prep.Plan` of the flags (input errors and missing weights first, before any work)."""
    from lawdnet.prep import Plan
    from lawdnet.prep.layout import STEPS

    chosen = {STEP_FLAGS[f] for f in STEP_FLAGS if getattr(args, f)}
    if not chosen:
        raise KitError("choose at least one step: " + " ".join(f"--{f}" for f in STEP_FLAGS))
    features = tuple(dict.fromkeys(f.strip() for f in args.features.split(",") if f.strip()))
    bad = [f for f in features if f not in FEATURE_ENTRY]
    if bad or not features:
        raise KitError(f"--features takes dp1, dp2 or dp1,dp2; got {args.features!r}")
    steps = tuple(s for s in STEPS if s in chosen or (s in features and "features" in chosen))
    steps += ("json",) if "json" in chosen else ()
    if args.workers < 1 or args.threads < 1:
        raise KitError(f"--workers and --threads must be >= 1, got {args.workers} and {args.threads}")
    if args.clip_length < 5:
        raise KitError(f"--clip_length must be >= 5 (a sample reads frames 2..6 of a clip), got {args.clip_length}")
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise KitError(f"--max_minutes must be > 0, got {args.max_minutes:g}")
    if args.crop_width < 16:
        raise KitError(f"--crop_width must be >= 16, got {args.crop_width}")
    landmarks = "openface-csv" if args.openface_dir else args.landmarks
    if landmarks == "openface-csv" and not (args.openface_dir and Path(args.openface_dir).is_dir()):
        raise KitError(f"--landmarks openface-csv needs --openface_dir, a folder of <video>.csv "
                       f"(got {args.openface_dir!r})")
    if set(steps) - {"json"} and not args.input_dir:
        raise KitError("--input_dir (the raw videos) is needed by every step but --generate_training_json")
    if args.input_dir and not Path(args.input_dir).is_dir():
        raise KitError(f"{args.input_dir}: --input_dir is not a folder")
    paths, labels = {}, {}
    for kind in (k for k in ("dp1", "dp2") if k in steps):
        given = args.deepspeech_model_path if kind == "dp1" else args.dp2_model_path
        if args.random_model is not None and not (kind == "dp1" and given):
            if given:
                raise KitError("--random_model cannot be combined with --dp2_model_path")
            what = "dp2 network" if kind == "dp2" else "dp1 graph"
            labels[kind] = f"RANDOM WEIGHTS: tiny random {what} (seed {args.random_model})"
            continue
        from talkingface.weights import require_weights

        paths[kind] = require_weights({kind: (FEATURE_ENTRY[kind], given)})[kind]
        labels[kind] = str(paths[kind])
    from talkingface.device import resolve_device

    return Plan(output_dir=Path(args.output_dir), steps=steps, input_dir=Path(args.input_dir) if args.input_dir
                else None, features=features, workers=args.workers, threads=args.threads, shard=args.shard,
                landmarks=landmarks,
                openface_dir=Path(args.openface_dir) if args.openface_dir else None, model_paths=paths,
                model_labels=labels, random_seed=args.random_model, clip_length=args.clip_length,
                crop_width=args.crop_width, device=resolve_device(args.device), progress=not args.no_progress,
                path_root=args.json_path_root, min_clips=args.min_clips, max_minutes=args.max_minutes)


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from lawdnet.prep import REPORT, preprocess
    from talkingface.preprocess import parse_shard

    parse_shard(args.shard)
    plan = plan_from_args(args)
    report = preprocess(plan)
    failed = report["counts"]["failed"]
    training = report["training_json"]
    log.info("%d video(s), %d with a failed step%s, %d skipped (over --max_minutes); %d with feature rows != frames "
             "(fixed, listed); report %s", report["counts"]["videos"], failed,
             f" ({', '.join(sorted(report['failed']))})" if failed else "", report["counts"]["skipped"],
             len(report["length_mismatches"]), Path(plan.output_dir) / REPORT)
    if training is not None:
        log.info("training JSON %s: %d video(s), %d clip(s), %d left out", training["path"], training["videos"],
                 training["clips"], len(training["left_out"]))
    return 0
