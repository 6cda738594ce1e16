"""Atomic-output helpers: a reserved temporary name next to the final file, with the user's normal permissions.

Every writer in the kit writes to :func:`temp_sibling` and renames onto the final name only on success, so a crash
never leaves a half-written file under the name a user (or a resuming run) looks for. Unlike ``tempfile.mkstemp``
(mode 0600), the file is created with mode 0666 minus the umask, like any file the user creates.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path


def temp_sibling(final: str | os.PathLike[str], tag: str = "partial") -> Path:
    """Create and return an empty, uniquely named hidden file next to ``final`` with the same suffix."""
    final = Path(final)
    while True:
        tmp = final.with_name(f".{final.stem}.{uuid.uuid4().hex[:10]}.{tag}{final.suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:  # pragma: no cover - a uuid collision
            continue


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` (parent folders created) through :func:`temp_sibling` and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
