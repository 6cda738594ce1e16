"""`python -m dagan.generate` — DaGAN outputs for an evaluation set (DESIGN §5 layout), resumable.

    python -m dagan.generate --source_dir evaluation_set/source_self --driving_dir evaluation_set/gt_self \
        --save_folder evaluation_set/generate_dagan_self

Pairs: by file name (stem) — every image or video of ``--driving_dir`` with the source of the same stem in
``--source_dir`` — or the rows of ``--pairs pairs.csv`` (the kit's one pairs format, ``talkingface.evalset``:
columns ``source``, ``driving`` (or ``gt``) and optionally ``id`` (or ``generated``), the output's name; relative
paths are looked up in --source_dir / --driving_dir, then next to the CSV). A source may be an image or a video (its
first frame).

Outputs: ``<save_folder>/<id>.mp4`` for a driving video (its frame rate and audio kept; relative motion from its
first frame, as the config's ``animate_params.normalization_params`` say unless --relative/--adapt_scale override)
and ``<id>.png`` for a driving image, which uses **absolute** motion: relative motion from a single frame is measured
against that same frame and would just reproduce the source. Existing outputs are skipped, so an interrupted run
resumes. One failing pair is reported and the others still run (exit status 1 at the end). The configuration that
ran is written beside the folder, ``<save_folder>.config.yaml`` (outside it, so the folder holds only outputs).
"""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dagan.cli.options import add_model_arguments, load_model_from_args, run_record, write_record
from talkingface.errors import KitError, cli_main


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dagan.generate",
        description="Generate DaGAN outputs for an evaluation set: one per (source, driving) pair, paired by file "
                    "name or by --pairs. Video driving -> mp4 (audio kept), image driving -> png (absolute motion). "
                    "Existing outputs are skipped (resumable).")
    a = p.add_argument
    a("--source_dir", help="folder of source images (or videos: their first frame)")
    a("--driving_dir", help="folder of driving videos or images, paired with sources by file name")
    a("--save_folder", required=True, help="output folder, e.g. evaluation_set/generate_dagan_self (created)")
    a("--pairs", help="pairs CSV with columns source, driving (or gt) and optionally id (output name)")
    a("--relative", action=argparse.BooleanOptionalAction, default=None,
      help="relative motion for video driving (default: the config's animate_params, relative)")
    a("--adapt_scale", action=argparse.BooleanOptionalAction, default=None,
      help="adapt the movement scale for video driving (default: the config's animate_params, off)")
    add_model_arguments(p)
    a("--no_progress", action="store_true", help="no progress bar")
    return p


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    from dagan.evaluation_set import IMAGE_MOTION_NOTE, find_pairs, generate, output_path, record_path
    from talkingface.log import setup_logging
    from talkingface.media import is_video

    args = build_parser().parse_args(argv)
    setup_logging()
    log = logging.getLogger("dagan.generate")
    pairs = find_pairs(args.source_dir, args.driving_dir, args.pairs)
    save_folder = Path(args.save_folder)
    if save_folder.exists() and not save_folder.is_dir():
        raise KitError(f"--save_folder {save_folder}: exists and is not a folder")
    todo = [p for p in pairs if not output_path(p, save_folder).exists()]
    log.info("%d pair(s), %d already generated in %s", len(pairs), len(pairs) - len(todo), save_folder)

    model, weights = load_model_from_args(args)
    norm = model.config.animate_params.normalization_params
    relative = norm.get("use_relative_movement", True) if args.relative is None else args.relative
    adapt_scale = norm.get("adapt_movement_scale", False) if args.adapt_scale is None else args.adapt_scale
    if any(not is_video(p.driving) for p in todo):
        log.info("single-image pairs use absolute motion: relative motion from one driving image would reproduce "
                 "the source")
    started = time.perf_counter()
    summary = generate(model, pairs, save_folder, relative=relative, adapt_scale=adapt_scale,
                       batch_size=args.batch_size, progress=not args.no_progress)

    options: dict[str, Any] = {
        "source_dir": args.source_dir, "driving_dir": args.driving_dir, "pairs": args.pairs,
        "save_folder": str(save_folder), "kp_num": args.kp_num, "generator": args.generator,
        "video_driving_motion": {"relative": relative, "adapt_scale": adapt_scale},
        "image_driving_motion": IMAGE_MOTION_NOTE,
    }
    record = run_record(model, weights, options)
    record["last_run"] = {**summary.counts(), "seconds": round(time.perf_counter() - started, 1),
                          "failures": [f"{n}: {m}" for n, m in summary.failed]}
    config = write_record(record, record_path(save_folder))
    c = summary.counts()
    label = f" [{weights['label']}]" if weights.get("random") else ""
    log.info("generated %d, skipped %d existing, failed %d (of %d pairs) in %s; config %s%s", c["generated"],
             c["skipped_existing"], c["failed"], len(pairs), save_folder, config, label)
    return 1 if summary.failed else 0
