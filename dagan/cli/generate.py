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

Scale-out (docs/scale_out.md, "DaGAN generation"): ``--shard i/n`` makes only the pairs at positions i, i+n, … of
the pair list, recording them in ``<save_folder>/provenance.shard-<i>-of-<n>.json``; a later run without --shard on
the same folder (the merge) folds every shard's records into provenance.json (each file keeps the shard that made
it, ``last_run`` says ``world_size`` and the files per shard) and makes the pairs no shard made. Under
``torchrun --nproc_per_node N -m dagan.generate …`` each rank makes shard RANK/WORLD_SIZE (on ``cuda:LOCAL_RANK``
when the device is a GPU), the ranks wait for each other (at most --shard_wait_minutes) and rank 0 merges.
"""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dagan.cli import options
from talkingface.cli import CommandParser
from talkingface.errors import ConfigError, KitError, cli_main
from talkingface.media import is_video

log = logging.getLogger("dagan.generate")


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
    a("--shard", metavar="I/N",
      help="make only the pairs at positions I, I+N, I+2N, … (0 <= I < N), for job arrays (Slurm, Kubernetes indexed "
           "jobs): the N processes share --save_folder, each recording its outputs in "
           "provenance.shard-I-of-N.json; once every shard is done, the same command without --shard merges them "
           "into provenance.json (nothing is made twice). Under torchrun leave it out: each rank takes shard "
           "RANK/WORLD_SIZE and rank 0 merges")
    a("--shard_wait_minutes", type=float, default=120.0,
      help="torchrun: how long a rank waits for the others before giving up (default 120)")
    a("--no_progress", action="store_true", help="no progress bar")
    return p


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    from talkingface.shards import parse_shard, torchrun_world_size

    args = build_parser().parse_args(argv)
    if args.overwrite and args.resume:
        raise KitError("--overwrite and --resume exclude each other")
    shard = parse_shard(args.shard) if args.shard is not None else None
    wait = args.shard_wait_minutes
    if not wait > 0:
        raise ConfigError(f"--shard_wait_minutes: expected a positive number of minutes, got {wait:g}")
    world = torchrun_world_size()
    if world > 1:
        if shard is not None:
            raise ConfigError(f"--shard {args.shard} under torchrun (WORLD_SIZE={world}): leave --shard out, each "
                              f"rank takes shard RANK/WORLD_SIZE")
        return _main_torchrun(args)
    job = _Job.prepare(args)
    folder = job.open(shard)                                               # output checks before any work
    model, weights = job.load()
    code, _ = job.run(folder, model, weights)
    return code


@dataclass
class _Job:
    """One command's pairs, settings and maker; :meth:`open` a folder (a shard's or the merge's), :meth:`run` it."""

    args: argparse.Namespace
    pairs: list
    files: dict
    relative: bool
    adapt_scale: bool
    face_crop: Any
    maker: Any
    inputs: list

    @classmethod
    def prepare(cls, args: argparse.Namespace) -> _Job:
        from dagan.config import load_dagan_config
        from dagan.evaluation_set import IMAGE_MOTION_NOTE, find_pairs

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
        if args.crop == "auto":              # the backend's name decides the crops: resolve it before the maker
            from talkingface.landmarks import make_backend

            backend = make_backend(args.landmarks, device=options.model_device(args))
        face_crop = options.face_crop_from_args(args, backend)
        if face_crop.auto:
            settings["face_crop"] = face_crop.settings()      # absent with --crop none: earlier folders resume
        inputs = [args.source_dir, args.driving_dir, args.pairs, *files.values()]
        return cls(args, pairs, files, relative, adapt_scale, face_crop, options.model_maker(args, files, settings),
                   inputs)

    def open(self, shard: tuple[int, int] | None):
        """The output folder for ``shard`` (None: the whole list, folding the shards' records), checked."""
        from dagan.evaluation_set import output_path
        from talkingface.generated import GeneratedFolder
        from talkingface.shards import take_shard

        folder = GeneratedFolder(self.args.save_folder, self.maker, inputs=self.inputs, overwrite=self.args.overwrite,
                                 shard=shard)
        pairs = take_shard(self.pairs, shard)
        todo = [p for p in pairs if not folder.done(output_path(p, folder.folder).name)]
        where = "" if shard is None else f" (shard {folder.label}: {len(pairs)} of {len(self.pairs)})"
        log.info("%d pair(s)%s, %d already made in %s", len(pairs), where, len(pairs) - len(todo), folder.folder)
        if folder.merged:
            log.info("merged the records of shard(s) %s into %s", ", ".join(folder.merged), folder.path)
            if todo:
                log.warning("merge: %d pair(s) were made by no shard (a shard not run or not finished, or its pairs "
                            "failed): made here", len(todo))
        if any(not is_video(p.driving) for p in todo):
            log.info("single-image pairs use absolute motion: relative motion from one driving image would "
                     "reproduce the source")
        return folder

    def load(self):
        return options.load_model_from_args(self.args, self.files)

    def run(self, folder, model, weights: dict, *, launcher: dict | None = None) -> tuple[int, Any]:
        """Make the folder's pairs that are not made yet and write its manifest; (exit status, summary)."""
        from dagan.evaluation_set import generate
        from talkingface.shards import take_shard

        args = self.args
        pairs = take_shard(self.pairs, folder.shard)
        started = time.perf_counter()
        folder.run.update(options.run_record(model, weights, {
            "source_dir": args.source_dir, "driving_dir": args.driving_dir, "pairs": args.pairs,
            "save_folder": str(folder.folder), "shard": folder.label, **(launcher or {})}))
        summary = generate(model, pairs, folder, relative=self.relative, adapt_scale=self.adapt_scale,
                           batch_size=args.batch_size, progress=not args.no_progress, crop=self.face_crop,
                           desc="generate" if folder.label is None else f"generate [{folder.label}]")
        manifest = folder.finish({**summary.counts(), "seconds": round(time.perf_counter() - started, 1),
                                  "failures": [f"{n}: {m}" for n, m in summary.failed], **(launcher or {})})
        c = summary.counts()
        label = f" [{weights['label']}]" if weights.get("random") else ""
        what = "" if folder.label is None else f"shard {folder.label}: "
        split = ""
        if folder.merged:                    # the merge: who made the files
            split = " (made by " + ", ".join(f"{k}: {v}" for k, v in folder.sharding()["shards"].items()) + ")"
        log.info("%smade %d, kept %d made earlier%s, failed %d (of %d pairs) in %s; provenance %s%s", what,
                 c["generated"], c["skipped_existing"], split, c["failed"], len(pairs), folder.folder, manifest, label)
        if folder.label is not None and launcher is None:
            log.info("shard %s done; once every shard is done, run the same command without --shard to merge "
                     "them into %s", folder.label, folder.folder / "provenance.json")
        return (1 if summary.failed else 0), summary


def _rank_device(args: argparse.Namespace, local_rank: int) -> None:
    """``cuda:LOCAL_RANK`` when the device is auto/cuda on a GPU machine (an explicit ``cuda:N`` stays as given)."""
    import torch

    if options.model_device(args) != "cuda":
        return
    if local_rank >= torch.cuda.device_count():
        raise ConfigError(f"LOCAL_RANK {local_rank} but this machine has {torch.cuda.device_count()} GPU(s): give "
                          f"torchrun --nproc_per_node <= the number of GPUs (or --cpu)")
    torch.cuda.set_device(local_rank)
    args.device = f"cuda:{local_rank}"


def _main_torchrun(args: argparse.Namespace) -> int:
    """Every rank makes shard RANK/WORLD_SIZE, rank 0 then merges (:func:`talkingface.shards.torchrun_shards`)."""
    from talkingface.shards import torchrun_rank, torchrun_shards

    rank, _, local_rank = torchrun_rank()
    _rank_device(args, local_rank)
    args.no_progress = args.no_progress or rank != 0
    state: dict = {}

    def open_shard(shard):
        state["job"] = _Job.prepare(args)
        return state["job"].open(shard)

    def make(folder):
        state["model"], state["weights"] = state["job"].load()
        state["job"].run(folder, state["model"], state["weights"], launcher={"launcher": "torchrun"})

    def merge() -> int:
        job = state["job"]
        return job.run(job.open(None), state["model"], state["weights"], launcher={"launcher": "torchrun"})[0]

    return torchrun_shards(open_shard, make, merge, args.shard_wait_minutes, log.info)
