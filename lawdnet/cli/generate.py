"""`python -m lawdnet.generate` — LawDNet (or DINet) lip-sync outputs for an evaluation set, resumable.

    python -m lawdnet.generate --video_dir evaluation_set/source_self --audio_dir evaluation_set/gt_self \
        --save_folder evaluation_set/generate_lawdnet_self

Pairs: by file name (stem) — every audio file or video of ``--audio_dir`` (a video's audio track drives the lips)
with the template video of the same stem in ``--video_dir`` — or the rows of ``--pairs pairs.csv``: columns
``video`` and ``audio`` (or the kit's ``source`` and ``driving``/``gt``, ``talkingface.evalset``) and optionally
``id`` (the output's name; default the audio's stem); relative paths are looked up in --video_dir / --audio_dir,
then next to the CSV.

Outputs: ``<save_folder>/<id>.mp4``, what ``python -m lawdnet.infer`` writes for the pair with the same flags (25
fps, as long as the speech, carrying it). One model serves every pair, and one template cache (default
``<save_folder>/.template_cache``, hidden from the evaluator; --template_cache moves it): a template used by several
pairs is prepared once. ``<save_folder>/provenance.json`` records what made every output (weights by sha256, the
settings that decide the frames, kit version) and the run (options, versions, counts). A second run with the same
weights and settings resumes; with others it refuses unless --overwrite; a folder holding files the kit did not
make is refused. A failing pair (an empty or unreadable file, no face, no audio stream, silent audio) is reported
and the others still run (exit status 1 at the end).

Scale-out (docs/scale_out.md, "LawDNet generation"): ``--shard i/n`` makes only the pairs at positions i, i+n, …
of the pair list, recording them in ``<save_folder>/provenance.shard-<i>-of-<n>.json``; a later run without
--shard on the same folder (the merge) folds every shard's records into provenance.json and makes the pairs no
shard made. Under ``torchrun --nproc_per_node N -m lawdnet.generate …`` each rank makes shard RANK/WORLD_SIZE (on
``cuda:LOCAL_RANK`` when the device is a GPU), the ranks wait for each other (at most --shard_wait_minutes) and rank
0 merges.
"""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lawdnet.cli.infer import check_args as check_run_args
from lawdnet.cli.model_flags import DEFAULT_FEATURES, DEFAULT_MOUTH, add_model_flags, pick_device, weight_files
from talkingface.cli import CommandParser
from talkingface.errors import ConfigError, KitError, cli_main

log = logging.getLogger("lawdnet.generate")


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(
        prog="python -m lawdnet.generate",
        description="Generate LawDNet (or DINet) lip-sync outputs for an evaluation set: one <id>.mp4 per (template "
                    "video, speech) pair, paired by file name or by --pairs, as python -m lawdnet.infer makes it. "
                    "Outputs already made with the same weights and settings are skipped (resumable); "
                    "<save_folder>/provenance.json records what made each one.")
    a = p.add_argument
    a("--video_dir", help="folder of template face videos, paired with the speech files by file name")
    a("--audio_dir", help="folder of speech: audio files (wav, mp3, m4a, …) or videos whose audio track drives the "
                          "lips (e.g. evaluation_set/gt_self)")
    a("--save_folder", required=True, help="output folder, e.g. evaluation_set/generate_lawdnet_self (created); never "
                                           "an input folder (source_*, gt_*, --video_dir, --audio_dir)")
    a("--pairs", help="pairs CSV with columns video (or source), audio (or driving, gt) and optionally id (output "
                      "name; default the audio's file name)")
    add_model_flags(p, cache_default="<save_folder>/.template_cache")
    a("--batch_size", type=int, default=20, help="frames per generator call (default 20, the authors')")
    a("--start_time_sec", type=float, default=0.0,
      help="start of every template video used, in seconds (default 0)")
    a("--max_frames", type=int, help="at most this many output frames (and template frames) per pair; default: all "
                                     "the speech")
    a("--no_cache", action="store_true",
      help="keep no template cache (every pair prepares its template again)")
    a("--overwrite", action="store_true",
      help="make again the outputs an earlier run made with other weights or settings (default: refuse)")
    a("--resume", action="store_true",
      help="continue an earlier run with the same weights and settings, keeping what it made (the default; the flag "
           "makes it explicit)")
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


def check_args(args: argparse.Namespace) -> None:
    if args.overwrite and args.resume:
        raise KitError("--overwrite and --resume exclude each other")
    if not args.shard_wait_minutes > 0:
        raise ConfigError(f"--shard_wait_minutes: expected a positive number of minutes, got "
                          f"{args.shard_wait_minutes:g}")
    check_run_args(args)                     # lawdnet.infer's: --batch_size, --max_frames, --start_time_sec, model


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    from talkingface.shards import parse_shard, torchrun_world_size

    args = build_parser().parse_args(argv)
    check_args(args)
    shard = parse_shard(args.shard) if args.shard is not None else None
    world = torchrun_world_size()
    if world > 1:
        if shard is not None:
            raise ConfigError(f"--shard {args.shard} under torchrun (WORLD_SIZE={world}): leave --shard out, each "
                              f"rank takes shard RANK/WORLD_SIZE")
        return _main_torchrun(args)
    job = _Job.prepare(args)
    folder = job.open(shard)                                               # output checks before any work
    model, extractor, weights = job.load()
    code, _ = job.run(folder, model, extractor, weights)
    return code


@dataclass
class _Job:
    """One command's pairs, settings and maker; :meth:`open` a folder (a shard's or the merge's), :meth:`run` it."""

    args: argparse.Namespace
    pairs: list
    files: dict
    features: str
    mouth: int
    device: str
    backend: Any
    maker: Any
    inputs: list

    @classmethod
    def prepare(cls, args: argparse.Namespace) -> _Job:
        from lawdnet.evaluation_set import find_pairs
        from lawdnet.loading import RANDOM_LABEL
        from lawdnet.template import backend_identity
        from talkingface.generated import Maker, checkpoint_records
        from talkingface.landmarks import make_backend

        features = args.features or DEFAULT_FEATURES[args.model]
        mouth = args.mouthsize or DEFAULT_MOUTH[args.model]
        pairs = find_pairs(args.video_dir, args.audio_dir, args.pairs)          # input errors first
        videos = sorted({str(p.video) for p in pairs})
        if args.landmarks == "openface-csv" and len(videos) > 1:
            raise ConfigError(f"--landmarks openface-csv: --landmarks_csv {args.landmarks_csv} describes one template "
                              f"video, the pairs use {len(videos)}; use --landmarks face-alignment or offline")
        files = weight_files(args, features)                                    # every missing weight file at once
        device = pick_device(args)
        backend = make_backend(args.landmarks, device=device, csv_path=args.landmarks_csv)
        settings = {"model": args.model, "features": features, "mouthsize": mouth,
                    "landmarks": backend_identity(backend), "seed": args.seed, "start_time_sec": args.start_time_sec,
                    "max_frames": args.max_frames}
        if args.random_model is not None:
            maker = Maker(args.model, random_weights=True, label=RANDOM_LABEL,
                          settings={**settings, "random_seed": args.random_model})
        else:
            maker = Maker(args.model, checkpoints=checkpoint_records(files), settings=settings)
        inputs = [args.video_dir, args.audio_dir, args.pairs, args.landmarks_csv, *files.values()]
        return cls(args, pairs, files, features, mouth, device, backend, maker, inputs)

    @property
    def cache_dir(self) -> Path | None:
        """--template_cache, else ``<save_folder>/.template_cache``; None with --no_cache."""
        from lawdnet.evaluation_set import TEMPLATE_CACHE

        a = self.args
        return None if a.no_cache else Path(a.template_cache or Path(a.save_folder) / TEMPLATE_CACHE)

    def open(self, shard: tuple[int, int] | None):
        """The output folder for ``shard`` (None: the whole list, folding the shards' records), checked."""
        from lawdnet.evaluation_set import output_path
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
        return folder

    def load(self):
        """(model, feature source, weights record): loaded once for every pair."""
        from lawdnet.loading import load_extractor, load_lip_sync_model

        seed = self.args.random_model
        model, weights = load_lip_sync_model(self.args.model, self.mouth, self.device, self.files.get("generator"),
                                             seed)
        return model, load_extractor(self.features, self.device, self.files.get("features"), seed), weights

    def run(self, folder, model, extractor, weights: dict, *, launcher: dict | None = None) -> tuple[int, Any]:
        """Make the folder's pairs that are not made yet and write its manifest; (exit status, summary)."""
        from lawdnet.evaluation_set import generate
        from talkingface.provenance import environment, kit_version
        from talkingface.shards import take_shard

        args = self.args
        pairs = take_shard(self.pairs, folder.shard)
        started = time.perf_counter()
        cache = self.cache_dir
        folder.run.update({
            "weights": weights,
            "options": {"video_dir": args.video_dir, "audio_dir": args.audio_dir, "pairs": args.pairs,
                        "save_folder": str(folder.folder), "shard": folder.label, "batch_size": args.batch_size,
                        "template_cache": None if cache is None else str(cache), **(launcher or {})},
            "model": {"model": args.model, "mouthsize": self.mouth, "features": self.features,
                      "feature_source": extractor.label, "landmark_backend": self.backend.name,
                      "device": self.device},
            "versions": {"talkingface_kit": kit_version(), **environment(self.device)}})
        summary = generate(model, extractor, self.backend, pairs, folder, batch_size=args.batch_size,
                           start_s=args.start_time_sec, max_frames=args.max_frames, seed=args.seed, cache_dir=cache,
                           progress=not args.no_progress,
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
    """``cuda:LOCAL_RANK`` when the device is auto/cuda (or not given) on a GPU machine; an explicit ``cuda:N`` or
    ``cpu`` stays as given (--gpu_index is not used under torchrun)."""
    import torch

    if args.device not in (None, "auto", "cuda") or not torch.cuda.is_available():
        return
    if local_rank >= torch.cuda.device_count():
        raise ConfigError(f"LOCAL_RANK {local_rank} but this machine has {torch.cuda.device_count()} GPU(s): give "
                          f"torchrun --nproc_per_node <= the number of GPUs (or --device cpu)")
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
        state["loaded"] = state["job"].load()                  # (model, extractor, weights)
        state["job"].run(folder, *state["loaded"], launcher={"launcher": "torchrun"})

    def merge() -> int:
        job = state["job"]
        return job.run(job.open(None), *state["loaded"], launcher={"launcher": "torchrun"})[0]

    return torchrun_shards(open_shard, make, merge, args.shard_wait_minutes, log.info)
