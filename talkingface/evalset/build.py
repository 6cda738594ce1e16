"""An evaluation set made from a test split, with correct pairs, and the check of any evaluation set.

    clips = find_clips("data/vox/test")                      # <identity>#<video>#<start>#<end>.mp4 (DaGAN split)
    report = build_evalset(clips, "evaluation_set", n_self=100, n_cross=100, seed=0, per_identity=5)
    problems = check_evalset("evaluation_set")               # [] when every row is right

Written (docs/architecture.md, section 5)::

    OUT/source_self/<id>.png     frame ``source_frame`` (default 0) of the clip: DaGAN's reconstruction protocol
    OUT/gt_self/<id>.mp4         the clip itself (a copy, or a hard link with ``link=True``); <id> = the clip's name
    OUT/source_cross/<id>.png    frame ``source_frame`` of a clip of identity A
    OUT/gt_cross/<id>.mp4        a clip of identity B != A that drives it; <id> = <source clip>__<driving clip>
    OUT/pairs.csv                every row: id, source, driving, gt, source_id, driving_id (talkingface.evalset.pairs)
    OUT/pairs_self.csv, OUT/pairs_cross.csv   the same rows split by kind (score one generated folder with --pairs)
    OUT/evalset.json             provenance: input folder and its fingerprint, seed, sizes, identity rule, every
                                 row with its clips and the sha256 of its files

**Identity** comes from each clip's name: ``prefix`` (default) takes the text before the first ``#`` of the file
name (the DaGAN / FOMM split: ``id10280#NXjT3732Ekg#001093#001192.mp4``), ``parent`` the first folder under the
input (``INPUT/<identity>/.../clip.mp4``). A clip's name in the set is its path under the input, ``/`` as ``#``.

**Sampling** is deterministic and does not depend on the order of files on disk: every clip is ranked by the sha256
of (seed, kind, name), and clips are taken round-robin over the identities (ranked the same way) so that one speaker
does not dominate; ``per_identity`` caps the rows of one identity (cross rows: as driving and as source, each). When
a size exceeds what the split holds, every clip is used. Adding clips to the split does not reorder the others.

**Validation**: the set is built in a hidden sibling folder, checked with :func:`check_evalset` (every file exists,
ids are given, self rows share an identity and cross rows never do, the identities agree with the clips' names
recorded in evalset.json, each self source is the frame of its own ground truth, sha256 of every file) and renamed
into place only when no problem is found: a failed build leaves nothing under OUT.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from talkingface.errors import ConfigError, KitError, MediaError, OutputError, one_line
from talkingface.evalset.layout import INPUT_FOLDERS, few, media_files
from talkingface.evalset.pairs import read_pairs, write_pairs
from talkingface.fsutil import fingerprint, write_text_atomic
from talkingface.media import VideoReader, read_image, write_image
from talkingface.media.images import VIDEO_EXTENSIONS

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


class EvalsetError(KitError):
    """The evaluation set would be (or is) wrong; ``problems`` lists each bad row in one line."""

    def __init__(self, message: str, problems: Sequence[str] = ()):
        super().__init__(message)
        self.problems = list(problems)


@dataclass(frozen=True)
class Clip:
    """One clip of a test split: its file, its name in the set (path under the input, ``/`` as ``#``, no suffix)
    and its identity."""

    path: Path
    name: str
    identity: str
    rel: str = ""                # the path under the input folder (posix)


@dataclass
class Row:
    """One pair of the set (before writing)."""

    kind: str                    # "self" | "cross"
    id: str
    source: Clip
    driving: Clip


@dataclass
class BuildReport:
    out: Path
    rows: list[Row]
    clips: int
    identities: int
    notes: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(r.kind == kind for r in self.rows)


# ------------------------------------------------------------------------------------------------------- clips
def identity_of(rel: Path, rule: str) -> str:
    """The identity of a clip at ``rel`` (relative to the input folder) under ``rule``; '' when it has none."""
    if rule == "prefix":
        stem = rel.with_suffix("").name
        return stem.split(SEPARATOR, 1)[0] if SEPARATOR in stem else ""
    if rule == "parent":
        return rel.parts[0] if len(rel.parts) > 1 else ""
    raise ConfigError(f"identity rule must be one of {', '.join(IDENTITY_RULES)}, got {rule!r}")


def find_clips(folder: str | os.PathLike, identity_from: str = "prefix") -> list[Clip]:
    """The video clips of ``folder`` with their identities, sorted by name. ``prefix``: the videos directly in the
    folder (a split's ``test/``); ``parent``: every video below it, the identity being its first folder. Hidden
    files and folders (a preprocessing run's ``.done/``, ``.partial/``) are skipped. A clip without an identity is a
    ConfigError naming it (an unlabelled clip cannot be paired safely)."""
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"{root}: input folder not found")
    if identity_from not in IDENTITY_RULES:
        raise ConfigError(f"--identity_from must be one of {', '.join(IDENTITY_RULES)}, got {identity_from!r}")
    candidates = root.iterdir() if identity_from == "prefix" else root.rglob("*")
    clips, unlabelled = [], []
    for path in candidates:
        rel = path.relative_to(root)
        if (not path.is_file() or path.suffix.lower() not in VIDEO_EXTENSIONS
                or any(part.startswith(".") for part in rel.parts)):
            continue
        identity = identity_of(rel, identity_from)
        if not identity:
            unlabelled.append(rel.as_posix())
            continue
        clips.append(Clip(path, rel.with_suffix("").as_posix().replace("/", SEPARATOR), identity, rel.as_posix()))
    if unlabelled:
        how = (f"a name '<identity>{SEPARATOR}...'" if identity_from == "prefix"
               else "a folder per identity (INPUT/<identity>/...)")
        raise ConfigError(f"{root}: {len(unlabelled)} clip(s) without an identity ({few(sorted(unlabelled))}): "
                          f"--identity_from {identity_from} needs {how}")
    clips.sort(key=lambda c: c.name)
    names = [c.name for c in clips]
    twins = sorted({n for n in names if names.count(n) > 1})
    if twins:
        raise ConfigError(f"{root}: several clips have the same name with different suffixes ({few(twins)})")
    return clips


def split_fingerprint(clips: Sequence[Clip]) -> str:
    """sha256 over every clip's name, identity, size and content fingerprint (talkingface.fsutil.fingerprint)."""
    digest = hashlib.sha256()
    for clip in sorted(clips, key=lambda c: c.name):
        size = clip.path.stat().st_size
        digest.update(f"{clip.name}\t{clip.identity}\t{size}\t{fingerprint(clip.path, size)}\n".encode())
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------- sampling
def _rank(seed: int, kind: str, name: str) -> str:
    return hashlib.sha256(f"{seed}\0{kind}\0{name}".encode()).hexdigest()


def _by_identity(clips: Iterable[Clip], seed: int, kind: str) -> dict[str, list[Clip]]:
    """identity -> its clips in rank order; the dict in rank order of the identities."""
    groups: dict[str, list[Clip]] = defaultdict(list)
    for clip in clips:
        groups[clip.identity].append(clip)
    order = sorted(groups, key=lambda ident: _rank(seed, kind, ident))
    return {ident: sorted(groups[ident], key=lambda c: _rank(seed, kind, c.name)) for ident in order}


def _round_robin(groups: dict[str, list[Clip]], n: int, cap: int | None) -> list[Clip]:
    """Up to ``n`` clips, one per identity per round, at most ``cap`` per identity."""
    taken: list[Clip] = []
    depth = max((len(v) for v in groups.values()), default=0)
    for round_ in range(depth if cap is None else min(depth, cap)):
        for clips in groups.values():
            if len(taken) >= n:
                return taken
            if round_ < len(clips):
                taken.append(clips[round_])
    return taken


def sample_self(clips: Sequence[Clip], n: int, seed: int, per_identity: int | None = None) -> list[Row]:
    """``n`` same-identity rows: the source is a frame of the clip, the clip is the ground truth."""
    picked = _round_robin(_by_identity(clips, seed, "self"), n, per_identity)
    return [Row("self", clip.name, clip, clip) for clip in picked]


def sample_cross(clips: Sequence[Clip], n: int, seed: int, per_identity: int | None = None) -> list[Row]:
    """``n`` cross-identity rows: driving clips taken round-robin over identities; each gets the source of the next
    identity in a rotation (never its own), that identity's clips taken in turn."""
    if n <= 0:
        return []
    groups = _by_identity(clips, seed, "cross-source")
    if len(groups) < 2:
        raise ConfigError(f"cross-identity pairs need clips of at least 2 identities; the split has {len(groups)} "
                          f"(pass --cross 0 for a same-identity set only)")
    drivings = _round_robin(_by_identity(clips, seed, "cross-driving"), n, per_identity)
    identities = list(groups)
    used = dict.fromkeys(identities, 0)
    turn = 0
    rows = []
    for driving in drivings:
        for step in range(len(identities)):
            ident = identities[(turn + step) % len(identities)]
            if ident != driving.identity and (per_identity is None or used[ident] < per_identity):
                break
        else:
            break                                     # every other identity has given its per_identity sources
        turn = (turn + step + 1) % len(identities)
        source = groups[ident][used[ident] % len(groups[ident])]
        used[ident] += 1
        rows.append(Row("cross", f"{source.name}{CROSS_JOIN}{driving.name}", source, driving))
    return rows


# ----------------------------------------------------------------------------------------------------- writing
def _check_out(out: Path, inputs: Path, overwrite: bool) -> None:
    out_abs, in_abs = out.resolve(), inputs.resolve()
    if out_abs == in_abs or in_abs in out_abs.parents or out_abs in in_abs.parents:
        raise OutputError(f"{out}: the evaluation set must be outside the input folder {inputs} (and not hold it)")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file; give a folder for the evaluation set")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise OutputError(f"{out}: is not empty; choose a new folder, or pass --overwrite to replace it (generated "
                          f"folders in it are deleted too)")


def _source_frame(clip: Clip, index: int) -> np.ndarray:
    try:
        with VideoReader(clip.path) as reader:
            if index >= reader.frame_count:
                raise MediaError(f"{clip.path}: has {reader.frame_count} frame(s), no frame {index} for the source")
            return reader.frame_at(index)
    except MediaError:
        raise
    except Exception as exc:  # noqa: BLE001 - a broken clip: one line naming it
        raise MediaError(f"{clip.path}: cannot read frame {index} ({one_line(exc)})") from None


def _place(src: Path, dst: Path, link: bool) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass                                      # another file system: copy
    shutil.copyfile(src, dst)


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


def build_evalset(clips: Sequence[Clip], out_dir: str | os.PathLike, *, input_dir: str | os.PathLike,
                  n_self: int, n_cross: int, seed: int = 0, per_identity: int | None = None,
                  identity_from: str = "prefix", source_frame: int = 0, link: bool = False,
                  overwrite: bool = False, record: dict[str, Any] | None = None,
                  rows: Sequence[Row] | None = None) -> BuildReport:
    """Write the evaluation set of ``clips`` into ``out_dir`` (see the module docstring), check it, and only then
    move it into place. ``record`` is added to evalset.json (the kit version, the command). ``rows`` replaces the
    sampling (tests). EvalsetError (with ``problems``) when the check fails; nothing is left under ``out_dir``."""
    out, inputs = Path(out_dir), Path(input_dir)
    for value, flag in ((n_self, "--self"), (n_cross, "--cross"), (source_frame, "--source_frame")):
        if value < 0:
            raise ConfigError(f"{flag} must be >= 0, got {value}")
    if per_identity is not None and per_identity < 1:
        raise ConfigError(f"--per_identity must be >= 1, got {per_identity}")
    if not clips:
        raise ConfigError(f"{inputs}: no video clips found")
    _check_out(out, inputs, overwrite)
    if rows is None:
        rows = sample_self(clips, n_self, seed, per_identity) + sample_cross(clips, n_cross, seed, per_identity)
    rows = list(rows)
    if not rows:
        raise ConfigError("nothing to write: --self and --cross are both 0")
    notes = []
    for kind, asked in (("self", n_self), ("cross", n_cross)):
        made = sum(r.kind == kind for r in rows)
        if made < asked:
            why = "all the split's clips" if per_identity is None else f"--per_identity {per_identity}"
            notes.append(f"{kind}: {made} of {asked} rows ({why})")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{uuid.uuid4().hex[:10]}.partial"
    try:
        for folder in INPUT_FOLDERS:
            (tmp / folder).mkdir(parents=True)
        records, table = [], []
        for row in rows:
            files = row_files(row.kind, row.id, row.driving.path.suffix.lower())
            write_image(tmp / files["source"], _source_frame(row.source, source_frame))
            _place(row.driving.path, tmp / files["gt"], link)
            table.append({"id": row.id, **files, "source_id": row.source.identity,
                          "driving_id": row.driving.identity})
            records.append({"id": row.id, "kind": row.kind, "source_clip": row.source.rel or row.source.name,
                            "driving_clip": row.driving.rel or row.driving.name, "source_id": row.source.identity,
                            "driving_id": row.driving.identity, "source_frame": source_frame,
                            "sha256": {k: _sha256(tmp / files[k]) for k in ("source", "gt")}})
        write_pairs(tmp / PAIRS_NAME, table)
        for kind, name in PAIRS_BY_KIND.items():
            kind_rows = [t for t, r in zip(table, rows, strict=True) if r.kind == kind]
            if kind_rows:
                write_pairs(tmp / name, kind_rows)
        provenance = {
            "version": FORMAT_VERSION,
            "about": "evaluation set made by `python -m talkingface make-evalset` (talkingface/evalset/build.py)",
            "input": {"folder": str(inputs.resolve()), "identity_from": identity_from, "clips": len(clips),
                      "identities": len({c.identity for c in clips}), "fingerprint": split_fingerprint(clips)},
            "settings": {"seed": seed, "self": n_self, "cross": n_cross, "per_identity": per_identity,
                         "source_frame": source_frame, "gt": "hard link" if link else "copy"},
            "made": {"self": sum(r.kind == "self" for r in rows), "cross": sum(r.kind == "cross" for r in rows),
                     "notes": notes},
            **(record or {}),
            "rows": records,
        }
        write_text_atomic(tmp / PROVENANCE_NAME, json.dumps(provenance, indent=1, ensure_ascii=False) + "\n")
        problems = check_evalset(tmp, identity_from=identity_from)
        if problems:
            raise EvalsetError(f"the evaluation set failed its check ({len(problems)} problem(s): "
                               f"{few(problems)}); nothing was written to {out}", problems)
        if out.exists():
            old = out.parent / f".{out.name}.{uuid.uuid4().hex[:10]}.old"
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BuildReport(out, rows, len(clips), len({c.identity for c in clips}), notes)


# ------------------------------------------------------------------------------------------------------- check
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
