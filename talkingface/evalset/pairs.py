"""``pairs.csv``: the one file format that says which source is animated by which driving clip, scored against
which ground truth, and whether they share an identity — read by every generator and by the evaluator.

Columns (header row required, case-insensitive, any order; extra columns are ignored):

========== ========= =================================================================================================
column     needed    meaning
========== ========= =================================================================================================
id         no        the sample's name: the generated file is ``<id>.mp4`` / ``<id>.png`` (default: the stem of
                     ``driving``, else of ``gt``). ``generated`` is accepted as the same column (files written for the
                     evaluator before the format was unified).
source     generators the source image (or video: its first frame)
driving    one of    the driving clip (or image); defaults to ``gt``
gt         the two   the ground truth the output is scored against; defaults to ``driving``
source_id  no        identity of the source; with ``driving_id``: equal → same-identity (self) pair, full-reference
driving_id no        metrics apply; different → cross-identity pair. Without them the folder rule decides (``_self``)
========== ========= =================================================================================================

Relative paths are looked up in the folders the caller names (the evaluation set; a generator's ``--source_dir`` /
``--driving_dir``), then next to the CSV. A value that is found nowhere is kept as a ``problem`` of its row: a
generator refuses it, the evaluator reports it and leaves the row out.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from talkingface.errors import ConfigError
from talkingface.evalset.layout import few, media_files
from talkingface.fsutil import write_text_atomic

COLUMNS = ("id", "source", "driving", "gt", "source_id", "driving_id")
ALIASES = {"generated": "id"}


@dataclass(frozen=True)
class PairRow:
    """One row of a pairs file, its paths resolved (None when empty or not found: see ``problems``)."""

    line: int
    id: str
    source: Path | None
    driving: Path | None
    gt: Path | None
    source_id: str = ""
    driving_id: str = ""
    problems: tuple[str, ...] = field(default=())

    @property
    def same_identity(self) -> bool | None:
        """True / False when both identity ids are given, else None (the folder rule decides)."""
        if self.source_id and self.driving_id:
            return self.source_id == self.driving_id
        return None


def _read_rows(path: Path, aliases: Mapping[str, str]) -> tuple[list[str], list[dict[str, str]]]:
    names = {**ALIASES, **aliases}
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [names.get(h.strip().lower(), h.strip().lower()) for h in (reader.fieldnames or [])]
            rows = [{names.get(k.strip().lower(), k.strip().lower()): (v or "").strip() for k, v in r.items() if k}
                    for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: cannot read pairs CSV ({exc})") from None
    return header, rows


def _locate(value: str, folders: Sequence[Path], csv_dir: Path, column: str) -> tuple[Path | None, str | None]:
    """(path, None) for the first existing candidate, else (None, a one-line problem naming what was tried)."""
    path = Path(value)
    tried = [path] if path.is_absolute() else [Path(f) / path for f in folders] + [csv_dir / path]
    for candidate in tried:
        if candidate.is_file():
            return candidate, None
    return None, f"{column} {value!r} not found (looked at {', '.join(map(str, tried))})"


def read_pairs(path: str | Path, folders: Mapping[str, Sequence[Path]] | Sequence[Path] = (),
               required: Iterable[str] = (), aliases: Mapping[str, str] | None = None) -> list[PairRow]:
    """Rows of the pairs file ``path``; ``folders`` are where relative paths are looked up first (one list for every
    column, or a list per column name). ``required`` columns must be in the header and non-empty in every row.
    ``aliases``: a generator's own names for columns (``{"video": "source", "audio": "driving"}``), read as them.

    ConfigError (one line naming the file and line) for: no file, unreadable CSV, neither ``driving`` nor ``gt``,
    a required column missing or empty, two rows with the same id, no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"pairs file not found: {path}")
    aliases = {k.lower(): v for k, v in (aliases or {}).items()}
    header, raw = _read_rows(path, aliases)

    def also(column: str) -> str:                  # the aliases of a column, for the messages
        return "".join(f", {a!r}" for a, c in aliases.items() if c == column)

    if "driving" not in header and "gt" not in header:
        raise ConfigError(f"{path}: needs a 'driving' (or 'gt'{also('driving')}) column; found "
                          f"{', '.join(header) or 'no header'}")
    required = list(required)
    absent = [c + (f" (or {also(c)[2:]})" if also(c) else "") for c in required if c not in header]
    if absent:
        raise ConfigError(f"{path}: needs the column(s) {', '.join(absent)}; found {', '.join(header)}")
    rows, seen = [], {}
    for line, r in enumerate(raw, start=2):
        r["driving"] = r.get("driving") or r.get("gt", "")
        r["gt"] = r.get("gt") or r["driving"]
        empty = [c for c in [*required, "driving"] if not r.get(c)]
        if empty:
            raise ConfigError(f"{path}:{line}: empty {', '.join(repr(c) for c in empty)}")
        resolved, problems = {}, []
        for column in ("source", "driving", "gt"):
            if r.get(column):
                look = folders.get(column, ()) if isinstance(folders, Mapping) else folders
                resolved[column], problem = _locate(r[column], list(look), path.parent, column)
                if problem and problem not in problems:
                    problems.append(problem)
            else:
                resolved[column] = None
        name = Path(r.get("id") or r["driving"]).stem
        if name in seen:
            raise ConfigError(f"{path}:{line}: id {name!r} already used on line {seen[name]}; give each row its own "
                              f"'id'")
        seen[name] = line
        rows.append(PairRow(line, name, resolved["source"], resolved["driving"], resolved["gt"],
                            r.get("source_id", ""), r.get("driving_id", ""), tuple(problems)))
    if not rows:
        raise ConfigError(f"{path}: no rows")
    return rows


def write_pairs(path: str | Path, rows: Iterable[Mapping[str, object]]) -> Path:
    """Write ``rows`` (mappings with some of :data:`COLUMNS`) as a pairs file, atomically, columns in canonical
    order. Paths are written as given (make them relative to the file's folder to keep a set relocatable)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else str(v) for k, v in row.items()})
    return write_text_atomic(path, buf.getvalue())


def generator_pairs(source_dir: str | Path | None, driving_dir: str | Path | None, pairs_csv: str | Path | None,
                    warnings: list[str]) -> list[PairRow]:
    """The (source, driving) pairs a generator makes outputs for: the rows of ``pairs_csv`` (paths looked up in
    ``source_dir`` / ``driving_dir``, then next to the CSV; every file must exist), else every image or video of
    ``driving_dir`` with the source of the same stem in ``source_dir``. Unmatched driving files go to ``warnings``;
    no pair at all, a missing folder or a missing file is a ConfigError."""
    if pairs_csv is not None:
        folders = {"source": [Path(source_dir)] if source_dir else [],
                   "driving": [Path(driving_dir)] if driving_dir else [],
                   "gt": [Path(driving_dir)] if driving_dir else []}
        rows = read_pairs(pairs_csv, folders, required=("source",))
        for row in rows:
            if row.problems:
                raise ConfigError(f"{pairs_csv}:{row.line}: {row.problems[0]}")
        return rows
    for folder, flag in ((source_dir, "--source_dir"), (driving_dir, "--driving_dir")):
        if folder is None:
            raise ConfigError(f"{flag} is needed (or --pairs pairs.csv)")
        if not Path(folder).is_dir():
            raise ConfigError(f"{flag} {folder}: folder not found")
    sources, drivings = media_files(Path(source_dir), warnings), media_files(Path(driving_dir), warnings)
    unmatched = [p.name for stem, p in drivings.items() if stem not in sources]
    if unmatched:
        warnings.append(f"{len(unmatched)} driving file(s) have no source of the same name in {source_dir}: "
                        f"{few(unmatched)}")
    rows = [PairRow(0, stem, sources[stem], path, path) for stem, path in drivings.items() if stem in sources]
    if not rows:
        raise ConfigError(f"no pairs: no file of {driving_dir} has a source of the same name in {source_dir}")
    return rows
