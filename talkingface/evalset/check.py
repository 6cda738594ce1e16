"""The check of an evaluation set: every row's files, identities and provenance, one line per problem.

    problems = check_evalset("evaluation_set")               # [] when every row is right

Shared with :mod:`talkingface.evalset.build` (which checks a set before renaming it into place): the identity
rules of clip names, the files of a row, and the names of the pairs and provenance files.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from talkingface.errors import ConfigError, one_line
from talkingface.evalset.layout import INPUT_FOLDERS, few, media_files
from talkingface.evalset.pairs import read_pairs
from talkingface.media import VideoReader, read_image

IDENTITY_RULES = ("prefix", "parent")
SEPARATOR = "#"
CROSS_JOIN = "__"
PROVENANCE_NAME = "evalset.json"
PAIRS_NAME = "pairs.csv"
PAIRS_BY_KIND = {"self": "pairs_self.csv", "cross": "pairs_cross.csv"}
FORMAT_VERSION = 1
# A self row's source must be the recorded frame of its own ground truth: mean absolute difference in 0..255 after
# both are decoded (PNG is lossless, the video is decoded by the same reader, so it is 0 unless files were swapped).
SOURCE_MATCH_TOLERANCE = 1.0


def identity_of(rel: Path, rule: str) -> str:
    """The identity of a clip at ``rel`` (relative to the input folder) under ``rule``; '' when it has none."""
    if rule == "prefix":
        stem = rel.with_suffix("").name
        return stem.split(SEPARATOR, 1)[0] if SEPARATOR in stem else ""
    if rule == "parent":
        return rel.parts[0] if len(rel.parts) > 1 else ""
    raise ConfigError(f"identity rule must be one of {', '.join(IDENTITY_RULES)}, got {rule!r}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(4 << 20):
            digest.update(block)
    return digest.hexdigest()


def row_files(kind: str, name: str, video_suffix: str = ".mp4") -> dict[str, str]:
    """The files of a row, relative to the set: source (png), driving = gt (the clip)."""
    gt = f"gt_{kind}/{name}{video_suffix}"
    return {"source": f"source_{kind}/{name}.png", "driving": gt, "gt": gt}


def _kind_of(base: Path, path: Path | None) -> str | None:
    """'self' / 'cross' when ``path`` is in gt_self/ (source_self/) or gt_cross/ (source_cross/) of ``base``."""
    if path is None:
        return None
    try:
        folder = path.resolve().parent.relative_to(base.resolve()).as_posix()
    except ValueError:
        return None
    return {"gt_self": "self", "source_self": "self", "gt_cross": "cross", "source_cross": "cross"}.get(folder)


def check_evalset(base_dir: str | os.PathLike, pairs: str | os.PathLike | None = None,
                  identity_from: str | None = None, warnings: list[str] | None = None) -> list[str]:
    """Every problem of an evaluation set and its pairs file (default ``base_dir/pairs.csv``), one line each
    (``pairs.csv:LINE id: what``); [] when it is right. Checked for every row: the files exist; ``source_id`` and
    ``driving_id`` are given; a row whose ground truth is in gt_self/ has its source in source_self/ and the same
    identity on both sides, one in gt_cross/ has its source in source_cross/ and two different identities; the file
    names are the row's id (the folder rule pairs by name). With the evalset.json that make-evalset writes: the
    recorded identities agree with the csv and with the clips' names (``identity_from``, default the recorded
    rule), the files have their recorded sha256, and each self source is the recorded frame of its ground truth.
    Files of the four folders that no row names go to ``warnings``."""
    base = Path(base_dir)
    warnings = [] if warnings is None else warnings
    if not base.is_dir():
        raise ConfigError(f"{base}: evaluation set folder not found")
    path = Path(pairs) if pairs is not None else base / PAIRS_NAME
    if pairs is not None and not path.is_file() and (base / path).is_file():
        path = base / path
    try:
        rows = read_pairs(path, [base])
    except ConfigError as exc:
        return [str(exc)]
    provenance = _read_provenance(base)
    recorded = {r.get("id"): r for r in (provenance or {}).get("rows", [])}
    rule = identity_from or (provenance or {}).get("input", {}).get("identity_from")
    problems: list[str] = []
    named: set[str] = set()
    for row in rows:
        where = f"{path.name}:{row.line} {row.id}"
        bad = list(row.problems)
        for p in (row.source, row.driving, row.gt):
            if p is not None:
                named.add(str(p.resolve()))
        if not row.source_id or not row.driving_id:
            bad.append("source_id and driving_id must both be given")
        kind = _kind_of(base, row.gt)
        if row.gt is not None and kind is None:
            bad.append(f"gt {row.gt} is in neither gt_self/ nor gt_cross/")
        if kind is not None and row.source is not None and _kind_of(base, row.source) != kind:
            bad.append(f"a {kind} row's source must be in source_{kind}/, not {row.source.parent.name}/")
        if kind is not None and row.source_id and row.driving_id:
            if kind == "self" and row.source_id != row.driving_id:
                bad.append(f"same-identity row (gt_self/) with two identities: source {row.source_id!r}, "
                           f"driving {row.driving_id!r}")
            if kind == "cross" and row.source_id == row.driving_id:
                bad.append(f"cross-identity row (gt_cross/) with one identity on both sides: {row.source_id!r}")
        for column, p in (("source", row.source), ("driving", row.driving), ("gt", row.gt)):
            if p is not None and _kind_of(base, p) is not None and p.stem != row.id:
                bad.append(f"{column} file {p.name} is not named after the row's id (the folder rule pairs by name)")
        if provenance is not None:
            bad += _against_provenance(row, recorded.get(row.id), rule, kind)
        problems += [f"{where}: {b}" for b in bad]
    if provenance is not None:
        missing = sorted(set(recorded) - {r.id for r in rows})
        if missing:
            problems.append(f"{path.name}: {len(missing)} row(s) of {PROVENANCE_NAME} are missing ({few(missing)})")
    unnamed = []
    for folder in INPUT_FOLDERS:
        if (base / folder).is_dir():
            unnamed += [f"{folder}/{p.name}" for p in media_files(base / folder, warnings).values()
                        if str(p.resolve()) not in named]
    if unnamed:
        warnings.append(f"{len(unnamed)} file(s) of the set are in no row of {path.name} ({few(unnamed)}): "
                        f"scored by the folder rule without identities")
    return problems


def _read_provenance(base: Path) -> dict | None:
    try:
        data = json.loads((base / PROVENANCE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == FORMAT_VERSION else None


def _against_provenance(row, rec: dict | None, rule: str | None, kind: str | None) -> list[str]:
    if rec is None:
        return [f"not in {PROVENANCE_NAME} (a row added by hand?)"]
    bad = []
    if rec.get("kind") != kind:
        bad.append(f"recorded as a {rec.get('kind')} row, its files are in the {kind} folders")
    if (rec.get("source_id"), rec.get("driving_id")) != (row.source_id, row.driving_id):
        bad.append(f"identities {row.source_id!r}/{row.driving_id!r} differ from the recorded "
                   f"{rec.get('source_id')!r}/{rec.get('driving_id')!r}")
    if rule in IDENTITY_RULES:
        for side in ("source", "driving"):
            clip = str(rec.get(f"{side}_clip", ""))
            named = identity_of(Path(clip), rule)
            if named != getattr(row, f"{side}_id"):
                bad.append(f"{side}_id {getattr(row, f'{side}_id')!r}, but its clip {clip} is of identity {named!r} "
                           f"(--identity_from {rule})")
    for column in ("source", "gt"):
        p, want = getattr(row, column), rec.get("sha256", {}).get(column)
        if p is not None and want and _sha256(p) != want:
            bad.append(f"{column} {p.name} is not the file written for this row (sha256 differs)")
    if kind == "self" and row.source is not None and row.gt is not None:
        bad += _source_matches(row.source, row.gt, int(rec.get("source_frame", 0)))
    return bad


def _source_matches(source: Path, gt: Path, index: int) -> list[str]:
    """[] when the source image is frame ``index`` of the ground-truth clip, else the problem."""
    try:
        image = read_image(source)
        with VideoReader(gt) as reader:
            frame = reader.frame_at(index)
    except Exception as exc:  # noqa: BLE001 - reported as the row's problem
        return [f"cannot compare the source with frame {index} of {gt.name} ({one_line(exc)})"]
    if image.shape != frame.shape:
        return [f"source {source.name} is not frame {index} of its ground truth {gt.name} (its size is "
                f"{image.shape[1]}x{image.shape[0]}, the frame's {frame.shape[1]}x{frame.shape[0]}): a mislabelled "
                f"pair"]
    diff = float(np.abs(image.astype(np.int16) - frame.astype(np.int16)).mean())
    if diff > SOURCE_MATCH_TOLERANCE:
        return [f"source {source.name} is not frame {index} of its ground truth {gt.name} (mean difference "
                f"{diff:.1f} of 255): a mislabelled pair"]
    return []
