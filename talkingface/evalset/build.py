"""An evaluation set made from a test split, with correct pairs (clips and sampling: clips.py; the check: check.py).

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

import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from talkingface.errors import ConfigError, KitError, MediaError, OutputError, one_line
from talkingface.evalset.check import (
    FORMAT_VERSION,
    PAIRS_BY_KIND,
    PAIRS_NAME,
    PROVENANCE_NAME,
    _sha256,
    check_evalset,
    row_files,
)
from talkingface.evalset.clips import Clip, Row, sample_cross, sample_self, split_fingerprint
from talkingface.evalset.layout import INPUT_FOLDERS, few
from talkingface.evalset.pairs import write_pairs
from talkingface.fsutil import write_text_atomic
from talkingface.media import VideoReader, write_image


class EvalsetError(KitError):
    """The evaluation set would be (or is) wrong; ``problems`` lists each bad row in one line."""

    def __init__(self, message: str, problems: Sequence[str] = ()):
        super().__init__(message)
        self.problems = list(problems)


@dataclass
class BuildReport:
    out: Path
    rows: list[Row]
    clips: int
    identities: int
    notes: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(r.kind == kind for r in self.rows)


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
