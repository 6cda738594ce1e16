"""`python -m dagan.generate` — DaGAN outputs for an evaluation set (DESIGN §5 layout), resumable.

    python -m dagan.generate --source_dir evaluation_set/source_self --driving_dir evaluation_set/gt_self \
        --save_folder evaluation_set/generate_dagan_self

Pairs: by file name (stem) — every image or video of ``--driving_dir`` with the source of the same stem in
``--source_dir`` — or the rows of ``--pairs pairs.csv`` (columns ``source``, ``driving`` (or ``gt``) and optionally
``id`` (or ``generated``), the output's name; relative paths are looked up in --source_dir / --driving_dir, then
next to the CSV). A source may be an image or a video (its first frame).

Outputs: ``<save_folder>/<id>.mp4`` for a driving video (its frame rate and audio kept; relative motion from its
first frame, as the config's ``animate_params.normalization_params`` say unless --relative/--adapt_scale override)
and ``<id>.png`` for a driving image, which uses **absolute** motion: relative motion from a single frame is measured
against that same frame and would just reproduce the source. Existing outputs are skipped, so an interrupted run
resumes. One failing pair is reported and the others still run (exit status 1 at the end). The configuration that
ran is written beside the folder, ``<save_folder>.config.yaml`` (outside it, so the folder holds only outputs).
"""
from __future__ import annotations

import argparse
import csv
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from talkingface.errors import ConfigError, KitError, cli_main

log = logging.getLogger("dagan.generate")

IMAGE_MOTION_NOTE = "absolute (relative motion from a single driving image would reproduce the source)"


@dataclass(frozen=True)
class Pair:
    name: str          # output stem
    source: Path
    driving: Path

    @property
    def driving_is_video(self) -> bool:
        from talkingface.images import is_video

        return is_video(self.driving)

    def output(self, folder: Path) -> Path:
        return folder / f"{self.name}{'.mp4' if self.driving_is_video else '.png'}"


@dataclass
class GenerateSummary:
    generated: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)        # (name, message)
    absolute_motion: list = field(default_factory=list)  # names of single-image pairs

    def counts(self) -> dict[str, int]:
        return {"generated": len(self.generated), "skipped_existing": len(self.skipped), "failed": len(self.failed),
                "single_image_pairs": len(self.absolute_motion)}


# ----------------------------------------------------------------------------------------------------- pairing
def pairs_by_name(source_dir: Path, driving_dir: Path) -> list[Pair]:
    """Pairs of same-stem files (images or videos) of the two folders; unmatched driving files are warned about."""
    from talkingface.evaluate_pairing import few, media_files

    for folder, flag in ((source_dir, "--source_dir"), (driving_dir, "--driving_dir")):
        if folder is None:
            raise KitError(f"{flag} is needed (or --pairs pairs.csv)")
        if not Path(folder).is_dir():
            raise KitError(f"{flag} {folder}: folder not found")
    notes: list[str] = []
    sources, drivings = media_files(Path(source_dir), notes), media_files(Path(driving_dir), notes)
    for note in notes:
        log.warning(note)
    unmatched = [p.name for stem, p in drivings.items() if stem not in sources]
    if unmatched:
        log.warning("%d driving file(s) have no source of the same name in %s: %s", len(unmatched), source_dir,
                    few(unmatched))
    pairs = [Pair(stem, sources[stem], path) for stem, path in drivings.items() if stem in sources]
    if not pairs:
        raise KitError(f"no pairs: no file of {driving_dir} has a source of the same name in {source_dir}")
    return pairs


def _locate(value: str, folders: list, csv_path: Path, line: int, column: str) -> Path:
    path = Path(value)
    if path.is_absolute():
        tried = [path]
    else:
        tried = [Path(f) / path for f in folders if f is not None] + [csv_path.parent / path]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise ConfigError(f"{csv_path}:{line}: {column} {value!r} not found (looked at {', '.join(map(str, tried))})")


def pairs_from_csv(csv_path: str | Path, source_dir: Path | None = None, driving_dir: Path | None = None) -> list[Pair]:
    """Rows of a pairs CSV: ``source``, ``driving`` (or ``gt``), optional ``id`` (or ``generated``)."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ConfigError(f"pairs file not found: {csv_path}")
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()} for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{csv_path}: cannot read pairs CSV ({exc})") from None
    driving_col = "driving" if "driving" in header else "gt" if "gt" in header else None
    if "source" not in header or driving_col is None:
        raise ConfigError(f"{csv_path}: needs columns 'source' and 'driving' (or 'gt'); found "
                          f"{', '.join(header) or 'no header'}")
    id_col = "id" if "id" in header else "generated" if "generated" in header else None
    pairs, seen = [], {}
    for line, row in enumerate(rows, start=2):
        if not row.get("source") or not row.get(driving_col):
            raise ConfigError(f"{csv_path}:{line}: empty 'source' or {driving_col!r}")
        source = _locate(row["source"], [source_dir], csv_path, line, "source")
        driving = _locate(row[driving_col], [driving_dir], csv_path, line, driving_col)
        name = Path(row.get(id_col) or driving.stem).stem if id_col else driving.stem
        if name in seen:
            raise ConfigError(f"{csv_path}:{line}: output name {name!r} already used on line {seen[name]}; give each "
                              f"row its own 'id'")
        seen[name] = line
        pairs.append(Pair(name, source, driving))
    if not pairs:
        raise ConfigError(f"{csv_path}: no rows")
    return pairs


# -------------------------------------------------------------------------------------------------- generating
def generate(model, pairs: list[Pair], save_folder: str | Path, *, relative: bool = True, adapt_scale: bool = False,
             batch_size: int | None = None, progress: bool = True) -> GenerateSummary:
    """Write one output per pair into ``save_folder`` (created), skipping outputs that exist."""
    from tqdm import tqdm

    from dagan.pipeline import animate_image, animate_video, read_source
    from talkingface.images import read_image, write_image

    folder = Path(save_folder)
    folder.mkdir(parents=True, exist_ok=True)
    summary = GenerateSummary()
    for pair in tqdm(pairs, unit="pair", desc="generate", disable=not progress):
        out = pair.output(folder)
        if out.exists():
            summary.skipped.append(pair.name)
            continue
        try:
            source = read_source(pair.source)
            if pair.driving_is_video:
                result = animate_video(model, source, pair.driving, out, relative=relative, adapt_scale=adapt_scale,
                                       batch_size=batch_size, keep_audio=True, progress=False)
                log.info("%s: %d frames, audio %s", out.name, result.frames, "kept" if result.audio else "none")
            else:
                log.info("%s: driving %s is an image: motion %s", out.name, pair.driving.name, IMAGE_MOTION_NOTE)
                write_image(out, animate_image(model, source, read_image(pair.driving)))
                summary.absolute_motion.append(pair.name)
        except KitError as exc:
            log.error("%s: %s", pair.name, exc)
            summary.failed.append((pair.name, str(exc)))
            continue
        summary.generated.append(pair.name)
    return summary


def config_path_for(save_folder: Path) -> Path:
    folder = Path(save_folder).resolve()
    return folder.parent / f"{folder.name}.config.yaml"


# --------------------------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    from dagan.animate import add_model_arguments

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
    from dagan.animate import load_model_from_args, setup_logging

    args = build_parser().parse_args(argv)
    setup_logging()
    source_dir = Path(args.source_dir) if args.source_dir else None
    driving_dir = Path(args.driving_dir) if args.driving_dir else None
    pairs = (pairs_from_csv(args.pairs, source_dir, driving_dir) if args.pairs
             else pairs_by_name(source_dir, driving_dir))
    save_folder = Path(args.save_folder)
    if save_folder.exists() and not save_folder.is_dir():
        raise KitError(f"--save_folder {save_folder}: exists and is not a folder")
    todo = [p for p in pairs if not p.output(save_folder).exists()]
    log.info("%d pair(s), %d already generated in %s", len(pairs), len(pairs) - len(todo), save_folder)

    model, weights = load_model_from_args(args)
    norm = model.config.animate_params.normalization_params
    relative = norm.get("use_relative_movement", True) if args.relative is None else args.relative
    adapt_scale = norm.get("adapt_movement_scale", False) if args.adapt_scale is None else args.adapt_scale
    if any(not p.driving_is_video for p in todo):
        log.info("single-image pairs use absolute motion: relative motion from one driving image would reproduce "
                 "the source")
    started = time.perf_counter()
    summary = generate(model, pairs, save_folder, relative=relative, adapt_scale=adapt_scale,
                       batch_size=args.batch_size, progress=not args.no_progress)

    from dagan.pipeline import run_record, write_record

    options: dict[str, Any] = {
        "source_dir": args.source_dir, "driving_dir": args.driving_dir, "pairs": args.pairs,
        "save_folder": str(save_folder), "kp_num": args.kp_num, "generator": args.generator,
        "video_driving_motion": {"relative": relative, "adapt_scale": adapt_scale},
        "image_driving_motion": IMAGE_MOTION_NOTE,
    }
    record = run_record(model, weights, options)
    record["last_run"] = {**summary.counts(), "seconds": round(time.perf_counter() - started, 1),
                          "failures": [f"{n}: {m}" for n, m in summary.failed]}
    config = write_record(record, config_path_for(save_folder))
    c = summary.counts()
    label = f" [{weights['label']}]" if weights.get("random") else ""
    log.info("generated %d, skipped %d existing, failed %d (of %d pairs) in %s; config %s%s", c["generated"],
             c["skipped_existing"], c["failed"], len(pairs), save_folder, config, label)
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
