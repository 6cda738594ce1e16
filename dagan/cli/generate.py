"""`python -m dagan.generate` — DaGAN outputs for an evaluation set (docs/architecture.md, section 5), resumable.

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
against that same frame and would just reproduce the source. ``<save_folder>/provenance.json`` records what made
every output (weights by sha256, settings, kit version) and the run (config, versions, counts). A second run with
the same weights and settings resumes; with others it refuses unless --overwrite; a folder holding files the kit
did not make (a ground-truth folder, say) is refused. One failing pair is reported and the others still run (exit
status 1 at the end).

Face crop (docs/face_crop.md): ``--crop auto`` crops every source and driving file the way DaGAN's VoxCeleb
training data was cropped (``--landmarks`` finds the faces), ``--paste_back`` pastes the animation back into the
source image. These settings are part of the folder's maker: a run with other crop settings refuses unless
--overwrite. A pair whose source or driving has no face fails (reported, the others still run).
"""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence

from dagan.cli import options
from dagan.evaluation_set import output_path
from talkingface.cli import CommandParser
from talkingface.errors import KitError, cli_main
from talkingface.media import is_video


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(
        prog="python -m dagan.generate",
        description="Generate DaGAN outputs for an evaluation set: one per (source, driving) pair, paired by file "
                    "name or by --pairs. Video driving -> mp4 (audio kept), image driving -> png (absolute motion). "
                    "Outputs already made with the same weights and settings are skipped (resumable); "
                    "<save_folder>/provenance.json records what made each one.")
    a = p.add_argument
    a("--source_dir", help="folder of source images (or videos: their first frame)")
    a("--driving_dir", help="folder of driving videos or images, paired with sources by file name")
    a("--save_folder", required=True, help="output folder, e.g. evaluation_set/generate_dagan_self (created); never "
                                           "an input folder (source_*, gt_*, --source_dir, --driving_dir)")
    a("--pairs", help="pairs CSV with columns source, driving (or gt) and optionally id (output name)")
    a("--relative", action=argparse.BooleanOptionalAction, default=None,
      help="relative motion for video driving (default: the config's animate_params, relative)")
    a("--adapt_scale", action=argparse.BooleanOptionalAction, default=None,
      help="adapt the movement scale for video driving (default: the config's animate_params, off)")
    a("--overwrite", action="store_true",
      help="make again the outputs an earlier run made with other weights or settings (default: refuse)")
    a("--resume", action="store_true",
      help="continue an earlier run with the same weights and settings, keeping what it made (the default; the flag "
           "makes it explicit)")
    options.add_crop_arguments(p)
    options.add_model_arguments(p)
    a("--no_progress", action="store_true", help="no progress bar")
    return p


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    from dagan.config import load_dagan_config
    from dagan.evaluation_set import IMAGE_MOTION_NOTE, find_pairs, generate
    from talkingface.generated import GeneratedFolder

    args = build_parser().parse_args(argv)
    if args.overwrite and args.resume:
        raise KitError("--overwrite and --resume exclude each other")
    log = logging.getLogger("dagan.generate")
    options.check_model_args(args)
    options.check_crop_args(args)
    pairs = find_pairs(args.source_dir, args.driving_dir, args.pairs)      # input errors first
    files = options.weight_files(args)                                     # every missing weight file at once
    norm = load_dagan_config(args.config).animate_params.normalization_params
    relative = norm.get("use_relative_movement", True) if args.relative is None else args.relative
    adapt_scale = norm.get("adapt_movement_scale", False) if args.adapt_scale is None else args.adapt_scale
    settings = {"video_driving_motion": {"relative": relative, "adapt_scale": adapt_scale},
                "image_driving_motion": IMAGE_MOTION_NOTE}
    backend = None
    if args.crop == "auto":                  # the backend's name decides the crops: resolve it before the maker
        from talkingface.landmarks import make_backend

        backend = make_backend(args.landmarks, device=options.model_device(args))
    face_crop = options.face_crop_from_args(args, backend)
    if face_crop.auto:
        settings["face_crop"] = face_crop.settings()          # absent with --crop none: earlier folders resume
    inputs = [args.source_dir, args.driving_dir, args.pairs, *files.values()]
    folder = GeneratedFolder(args.save_folder, options.model_maker(args, files, settings), inputs=inputs,
                             overwrite=args.overwrite)                     # output checks before any work
    todo = [p for p in pairs if not folder.done(output_path(p, folder.folder).name)]
    log.info("%d pair(s), %d already made in %s", len(pairs), len(pairs) - len(todo), folder.folder)

    model, weights = options.load_model_from_args(args, files)
    if any(not is_video(p.driving) for p in todo):
        log.info("single-image pairs use absolute motion: relative motion from one driving image would reproduce "
                 "the source")
    started = time.perf_counter()
    folder.run.update(options.run_record(model, weights, {
        "source_dir": args.source_dir, "driving_dir": args.driving_dir, "pairs": args.pairs,
        "save_folder": str(folder.folder)}))
    summary = generate(model, pairs, folder, relative=relative, adapt_scale=adapt_scale,
                       batch_size=args.batch_size, progress=not args.no_progress, crop=face_crop)
    manifest = folder.finish({**summary.counts(), "seconds": round(time.perf_counter() - started, 1),
                              "failures": [f"{n}: {m}" for n, m in summary.failed]})
    c = summary.counts()
    label = f" [{weights['label']}]" if weights.get("random") else ""
    log.info("made %d, kept %d made earlier, failed %d (of %d pairs) in %s; provenance %s%s", c["generated"],
             c["skipped_existing"], c["failed"], len(pairs), folder.folder, manifest, label)
    return 1 if summary.failed else 0
