"""The evaluation_set layout: folder names, the self/cross rule, and the media files of a folder keyed by stem.

    evaluation_set/
      source_self/ gt_self/ source_cross/ gt_cross/      images or videos, paired by file name (stem)
      generate_<name>_self/  generate_<name>/            generated outputs, paired by file name

A folder whose name ends in ``_self`` holds same-identity samples (scored against ``gt_self/``, full-reference
metrics apply); any other holds cross-identity samples (``gt_cross/``; no full-reference metric). docs/architecture.md
has the whole picture; ``pairs.csv`` (talkingface.evalset.pairs) overrides the rule per row.
"""
from __future__ import annotations

from pathlib import Path

from talkingface.media.images import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

SELF_SUFFIX = "_self"
GENERATED_PREFIX = "generate"
INPUT_FOLDERS = ("source_self", "gt_self", "source_cross", "gt_cross")
MANIFEST_NAME = "provenance.json"    # what made the files of a generated folder (talkingface.generated)
SHOW = 5  # file names listed in a message before "…"


def mode_of(folder_name: str) -> str:
    """``"self"`` for a folder name ending in ``_self``, else ``"cross"``."""
    return "self" if folder_name.endswith(SELF_SUFFIX) else "cross"


def source_folder(mode: str) -> str:
    """``source_self`` / ``source_cross``: the sources of a self or cross set."""
    return f"source_{mode}"


def ground_truth_folder(mode: str) -> str:
    """``gt_self`` / ``gt_cross``: the ground truth (self) or driving videos (cross) of a set."""
    return f"gt_{mode}"


def generated_folders(base: Path) -> list[str]:
    """Names of the ``generate*`` folders of an evaluation set, sorted."""
    return sorted(p.name for p in Path(base).iterdir() if p.is_dir() and p.name.startswith(GENERATED_PREFIX))


def few(names, count: int | None = None) -> str:
    """``a, b, c, … (12 in all)`` — a short list for one-line messages."""
    names = [str(n) for n in names]
    count = len(names) if count is None else count
    shown = ", ".join(names[:SHOW])
    return shown + (f", … ({count} in all)" if count > SHOW else "")


def media_files(folder: Path, warnings: list[str], extensions: tuple[str, ...] = IMAGE_EXTENSIONS + VIDEO_EXTENSIONS,
                kinds: str = "images nor videos") -> dict[str, Path]:
    """stem → file for the images and videos (or other ``extensions``) directly in ``folder`` (sorted); odd files
    are mentioned once in ``warnings`` ("neither ``kinds``"; a generated folder's provenance.json is expected, not
    odd), and of several files sharing a stem the first is used."""
    found: dict[str, Path] = {}
    ignored, clashes = [], []
    for path in sorted(p for p in Path(folder).iterdir() if not p.name.startswith(".")):
        if not path.is_file() or path.name == MANIFEST_NAME:
            continue
        if path.suffix.lower() not in extensions:
            ignored.append(path.name)
        elif path.stem in found:
            clashes.append(f"{found[path.stem].name}/{path.name}")
        else:
            found[path.stem] = path
    if ignored:
        warnings.append(f"{folder}: ignored {len(ignored)} file(s) that are neither {kinds} "
                        f"({few(ignored)})")
    if clashes:
        warnings.append(f"{folder}: several files share a name, the first is used ({few(clashes)})")
    return found
