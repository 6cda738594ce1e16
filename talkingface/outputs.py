"""Where outputs may go: an output is never an input, never inside an input folder, and its folder is writable.

Every CLI checks its outputs with these functions before any work starts, so a mistake costs one line and no time:

* :func:`refuse_input` — the output path is, or resolves to (symlinks, ``..``, hard links), one of the inputs, or
  lies inside an input folder;
* :func:`check_writable` — a file can be created in the output's folder, or in the nearest existing folder above it
  when it is still to be made (a read-only volume, the usual Docker mistake, is found here and not after the model
  ran; nothing is created, so a run that fails early leaves nothing behind);
* :func:`is_input_folder` — the evaluation_set's own input folders (``source_*``, ``gt_*``) are never output folders.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from talkingface.errors import OutputError, describe_os_error
from talkingface.evalset.layout import INPUT_FOLDERS
from talkingface.fsutil import same_file, temp_sibling


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def refuse_input(output: str | os.PathLike, inputs: Iterable[str | os.PathLike | None], what: str = "output") -> None:
    """OutputError when ``output`` is one of ``inputs`` (files or folders) or lies inside an input folder.

    Inputs that are None are ignored; an output folder that *contains* an input is allowed (outputs go next to
    their inputs all the time) unless that input is itself a folder the output would be."""
    out = Path(output)
    for item in inputs:
        if item is None:
            continue
        src = Path(item)
        if same_file(out, src):
            kind = "folder" if src.is_dir() else "file"
            raise OutputError(f"{out}: the {what} would overwrite the input {kind} {src}; choose another {what}")
        if src.is_dir() and _inside(out, src):
            raise OutputError(f"{out}: the {what} lies inside the input folder {src}; choose another {what}")


def is_input_folder(folder: str | os.PathLike) -> bool:
    """True for the evaluation_set's input folders (``source_self``, ``gt_self``, ``source_cross``, ``gt_cross``)."""
    return Path(folder).resolve().name in INPUT_FOLDERS


def refuse_input_folder(folder: str | os.PathLike, what: str = "output folder") -> None:
    """OutputError when ``folder`` is, or lies inside, an evaluation_set input folder (sources, ground truth)."""
    path = Path(folder).resolve()
    for part in [path, *path.parents]:
        if part.name in INPUT_FOLDERS:
            raise OutputError(f"{folder}: the {what} would be (inside) the evaluation_set input folder {part}; "
                              f"generated outputs go to generate_<name>[_self]/")


def check_writable(folder: str | os.PathLike, what: str = "output folder", create: bool = True) -> Path:
    """Prove a file can be written in ``folder`` — or, when it does not exist yet and ``create``, in the nearest
    folder above it that exists (the folder itself is made by the first write, so a run that fails early leaves
    nothing behind); one OutputError line otherwise (read-only file system, permission denied, no space left, a
    file in the way). With ``create=False`` the folder must exist."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: is a file, not a folder (the {what})")
    if not path.exists() and not create:
        raise OutputError(f"{path}: the {what} does not exist; create it first")
    existing = next(p for p in [path, *path.absolute().parents] if p.exists())
    if not existing.is_dir():
        raise OutputError(f"{path}: cannot make the {what}: {existing} is a file")
    try:
        temp_sibling(existing / "write-test").unlink()
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the {what} here ({describe_os_error(exc)})") from None
    return path
