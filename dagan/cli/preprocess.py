"""`python -m dagan.preprocess` — raw talking-head videos -> DaGAN/FOMM training data (VoxCeleb-style face crops).

    python -m dagan.preprocess --input_dir raw/ --output_dir data/vox --workers 2
    python -m dagan.preprocess --input_dir raw/ --output_dir data/vox --shard 0/4     # this machine's quarter

Every video under ``--input_dir`` (recursively) is cut into face tracks, each written as a 256x256 clip
``<output_dir>/{train,test}/<id>#<video>#<start>#<end>.mp4`` (or a folder of PNG frames of that name with
``--format png``, what FOMM recommends) — the layout the DaGAN/FOMM ``FramesDataset`` reads, ids sampled by the
prefix before ``#``. The rule (``dagan.dataset_prep``, ``dagan.face_tracks``) is the authors' video-preprocessing
recipe: tracks end at shot/scale changes, lost faces and faces leaving the frame; each track's union box is enlarged
1.2x to a square inside the frame. The split is by identity, never by clip.

Resumable: a finished video is skipped, a killed run goes on where it stopped; a broken video fails alone with its
reason. Any length: frames are streamed (a 2-hour video costs time, not memory); ``--max_minutes M`` skips videos
longer than M minutes, recorded with their duration and the reason (docs/lawdnet_preprocess.md, long videos). Writes
``preprocess_report.json`` (per video: frames, duration, clips with their crop boxes, tracks kept, dropped and ended
and why, frames without a face or in no clip, identity and split; ``jitter``: the mean frame-to-frame motion of the
detected box's centre within the kept tracks, in box sides, head motion included — 0.009 on the DaGAN authors'
VoxCeleb driving clip with the offline detector) and ``preprocess_config.yaml`` (the settings; a later run into the
same folder must use the same ones).
Exit status 1 when a video failed.
"""
from __future__ import annotations

import argparse
import csv
import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from talkingface.cli import CommandParser
from talkingface.errors import KitError, cli_main

CONFIG_NAME, REPORT_NAME = "preprocess_config.yaml", "preprocess_report.json"
#: settings that do not change what is written (may differ between runs and shards into one folder)
RUN_ONLY = ("input_dir", "device", "threads")


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(
        prog="python -m dagan.preprocess",
        description="Cut raw talking-head videos into VoxCeleb-style 256x256 face-track clips for DaGAN/FOMM "
                    "training: <output_dir>/{train,test}/<id>#<video>#<start>#<end>.mp4, split by identity. "
                    "Resumable and shardable; writes preprocess_report.json and preprocess_config.yaml.")
    a = p.add_argument
    a("--input_dir", required=True, help="folder of raw videos, searched recursively (any size, frame rate, codec)")
    a("--output_dir", required=True, help="dataset root to write (train/ and test/ inside); not inside --input_dir. "
                                          "Running again into it skips the videos already done")
    a("--workers", type=int, default=1, help="videos processed in parallel, one process each (default 1)")
    a("--threads", type=int, default=1, help="threads of each worker for torch, OpenCV, video decoding and encoding "
                                            "(default 1: one process per core scales better than threads; raise it "
                                            "when workers < cores)")
    a("--shard", metavar="i/n", help="process only shard i of n (0 <= i < n), split by a hash of each video's path, "
                                     "so n machines share one dataset without talking; each writes its own report")
    a("--landmarks", default="auto", choices=["auto", "face-alignment", "offline"],
      help="face detector: face-alignment (S3FD, the detector of the authors' VoxCeleb crops), offline (OpenCV Haar, "
           "needs no weights), auto (face-alignment when its weights are present, else offline; default)")
    a("--device", default="auto", help="device of the face-alignment detector: auto (GPU when present) | cpu | cuda")
    a("--size", type=int, default=256, help="side of the square output frames in pixels (default 256, the authors')")
    a("--format", default="mp4", choices=["mp4", "png"],
      help="mp4: an H.264 clip per track (default); png: a folder of 0000000.png... per track, named like the clip "
           "(FOMM's recommended layout: lossless, faster to read in training)")
    a("--min_frames", type=int, default=64, help="drop tracks shorter than this many frames (default 64, the authors')")
    a("--max_frames", type=int, help="cut tracks into clips of at most this many frames, each with its own box "
                                     "(default: no limit; crop_vox.py uses 1024)")
    a("--min_size", type=int, default=0, help="drop tracks whose face box (the union over the track) is smaller than "
                                              "this many pixels (default 0: keep all; crop_vox.py drops under 256)")
    a("--detect_every", type=int, default=1, metavar="K",
      help="look for faces in every K-th frame (and the last) only; tracks span the frames between (default 1: "
           "every frame, as the authors do)")
    a("--increase", type=float, default=0.1,
      help="margin around the track's face box on each side, as a fraction of its longer side: the crop is a "
           "square of (1 + 2 x increase) times it (default 0.1, the authors')")
    a("--iou_with_initial", type=float, default=0.25,
      help="a face box continues a track while its IoU with the track's first box is at least this; lower, it "
           "starts a new track (shot or scale change; default 0.25, the authors')")
    a("--test_fraction", type=float, default=0.1,
      help="fraction of identities put in test/ (chosen by a seeded hash of each identity, so stable as videos are "
           "added and the same on every shard; default 0.1)")
    a("--test_ids", help="file of identities for test/, one per line (overrides --test_fraction)")
    a("--identity_from", default="top",
      help="who is in a video: top (the first folder under --input_dir, VoxCeleb's id10291/...; default), parent "
           "(the video's folder), stem (each video its own identity), or a CSV file with columns video,identity "
           "(video: path relative to --input_dir, with or without suffix, or its stem). A video directly in "
           "--input_dir is its own identity under top and parent")
    a("--seed", type=int, default=0, help="seed of the identity split (default 0)")
    a("--max_minutes", type=float, metavar="M",
      help="skip videos longer than M minutes: each is recorded in preprocess_report.json as skipped with its "
           "duration and the reason (e.g. '2:00:00 long, over --max_minutes 60'), not processed and not marked "
           "done, so a later run with a higher limit or none processes it (default: no limit; any length is "
           "streamed, memory stays flat, but a 2-hour video takes its time)")
    a("--no_progress", action="store_true", help="no progress bar")
    return p


def read_identity_csv(path: Path) -> dict[str, str]:
    """{video: identity} from a CSV with columns ``video,identity`` (a header row is optional)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh) if r and not r[0].startswith("#")]
    except OSError as exc:
        raise KitError(f"--identity_from {path}: cannot read ({exc.strerror})") from None
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["video", "identity"]:
        rows = rows[1:]
    bad = [n for n, r in enumerate(rows, 1) if len(r) < 2 or not r[0].strip() or not r[1].strip()]
    if bad:
        raise KitError(f"--identity_from {path}: rows {bad[:5]} are not video,identity")
    return {r[0].strip(): r[1].strip() for r in rows}


def check_args(args: argparse.Namespace) -> None:
    """KitError for impossible values (before anything is read)."""
    from talkingface.preprocess import parse_shard

    parse_shard(args.shard)
    for flag, value, low in (("workers", args.workers, 1), ("threads", args.threads, 1),
                             ("min_frames", args.min_frames, 1),
                             ("detect_every", args.detect_every, 1), ("size", args.size, 16),
                             ("min_size", args.min_size, 0), ("max_frames", args.max_frames or 1, 1)):
        if value < low:
            raise KitError(f"--{flag} must be at least {low}, got {value}")
    if args.max_minutes is not None and not args.max_minutes > 0:
        raise KitError(f"--max_minutes must be > 0, got {args.max_minutes:g}")
    if args.size % 2:
        raise KitError(f"--size must be even (H.264 clips), got {args.size}")
    if not 0 <= args.test_fraction < 1:
        raise KitError(f"--test_fraction must be in [0, 1), got {args.test_fraction}")
    if not 0 < args.iou_with_initial <= 1 or args.increase < 0:
        raise KitError("--iou_with_initial must be in (0, 1] and --increase >= 0")
    src, out = Path(args.input_dir).resolve(), Path(args.output_dir).resolve()
    if out == src or src in out.parents:
        raise KitError(f"--output_dir {args.output_dir} is inside --input_dir: its clips would be read as input")


def check_config(path: Path, settings: dict) -> None:
    """Refuse a folder made with other settings (its done videos would be skipped, the rest made differently)."""
    import yaml

    if not path.is_file():
        return
    old = yaml.safe_load(path.read_text()) or {}
    differ = sorted(k for k in set(old) | set(settings) if k not in RUN_ONLY and old.get(k) != settings.get(k))
    if differ:
        raise KitError(f"{path.parent} was made with other settings ({', '.join(differ)} differ); use the same flags "
                       f"or another --output_dir")


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check_args(args)
    import yaml

    from dagan.dataset_prep import IDENTITY_RULES, PrepWork, Settings, identity_and_video, split_of
    from talkingface.fsutil import write_text_atomic
    from talkingface.preprocess import find_videos, run_jobs

    log = logging.getLogger("dagan")
    identities = None
    if args.identity_from not in IDENTITY_RULES:
        identities = read_identity_csv(Path(args.identity_from))
    test_ids = None
    if args.test_ids:
        try:
            test_ids = tuple(sorted({ln.strip() for ln in Path(args.test_ids).read_text().splitlines()
                                     if ln.strip() and not ln.startswith("#")}))
        except OSError as exc:
            raise KitError(f"--test_ids {args.test_ids}: cannot read ({exc.strerror})") from None
    root = Path(args.input_dir).resolve()
    if not find_videos(root):
        raise KitError(f"{args.input_dir}: no videos found (looked for .mp4, .mov, .mkv, ... recursively)")
    jobs = find_videos(root, args.shard)

    from talkingface.device import resolve_device
    from talkingface.landmarks import make_backend

    device = resolve_device(args.device)
    backend = make_backend(args.landmarks, device=device)     # 'auto' resolved once, here
    settings = Settings(input_dir=str(root), landmarks=backend.name, device=device,
                        size=args.size, format=args.format, min_frames=args.min_frames, max_frames=args.max_frames,
                        min_size=args.min_size, detect_every=args.detect_every, increase=args.increase,
                        iou_with_initial=args.iou_with_initial,
                        identity_from=args.identity_from if identities is None else "csv", identities=identities,
                        test_fraction=args.test_fraction, test_ids=test_ids, seed=args.seed)
    record = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(settings).items()}
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    check_config(out / CONFIG_NAME, record)
    write_text_atomic(out / CONFIG_NAME, yaml.safe_dump(record, sort_keys=False, allow_unicode=True))

    split: dict[str, set] = {"train": set(), "test": set()}
    for job in jobs:
        try:
            ident = identity_and_video(job.path.relative_to(root), settings)[0]
        except KitError:
            continue                                   # not in the identity CSV: that video fails alone
        split[split_of(ident, settings)].add(ident)
    if settings.test_fraction > 0 and test_ids is None and split["train"] and not split["test"]:
        log.warning("no identity of these %d fell in test/ (--test_fraction %g is applied per identity); list them "
                    "with --test_ids for a test split", len(split["train"]), settings.test_fraction)
    summary = {"rule": "test_ids" if test_ids is not None else f"sha256(seed:identity) < {settings.test_fraction}",
               **{k: sorted(v) for k, v in split.items()}}
    work = PrepWork(settings, backend if args.workers <= 1 else None)      # each worker builds its own
    del backend
    report = run_jobs(jobs, work, out, workers=args.workers, threads=args.threads, report_name=REPORT_NAME,
                      shard=args.shard, max_minutes=args.max_minutes,
                      settings={**record, "max_minutes": args.max_minutes, "split": summary},
                      progress=not args.no_progress)
    counts = report["counts"]
    clips = {s: sum(len(r.get("clips", [])) for r in report["videos"].values() if r.get("split") == s)
             for s in ("train", "test")}
    log.info("%d videos: %d done, %d done earlier, %d failed, %d skipped; %d clips in train/, %d in test/ (%s)",
             counts["videos"], counts["done"], counts["done earlier"], counts["failed"], counts["skipped"],
             clips["train"], clips["test"], out)
    return 1 if counts["failed"] else 0
