"""Files in and out: input checks, atomic writes (temporary sibling + rename) for every writer, file stamps.

Every writer in the kit writes to :func:`temp_sibling` (or inside :func:`atomic_path`) and renames onto the final
name only on success, so a crash never leaves a half-written file under the name a user (or a resuming run) looks
for. Unlike ``tempfile.mkstemp`` (mode 0600), the file is created with mode 0666 minus the umask, like any file the
user creates.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from talkingface.errors import USER_ERRNOS, MediaError, OutputError, describe_os_error


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


def remove_quietly(path: str | os.PathLike[str] | None) -> None:
    """Delete ``path`` if it exists (None and a missing file are fine)."""
    if path is not None:
        Path(path).unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike[str], *, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``final`` to write to; on success it replaces ``final``, on any error it is
    deleted and ``final`` is left as it was. ``fsync`` flushes the file to disk before the rename. A full disk or a
    read-only folder becomes one OutputError line naming ``final``."""
    final = Path(final)
    try:
        tmp = temp_sibling(final)
    except OSError as exc:
        raise OutputError(f"{final}: cannot be written ({describe_os_error(exc)})") from None
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, final)
    except OSError as exc:
        if exc.errno not in USER_ERRNOS:
            raise
        raise OutputError(f"{final}: not written ({describe_os_error(exc)}); nothing was left behind") from None
    finally:
        remove_quietly(tmp)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` (parent folders created) through :func:`atomic_path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` (parent folders created) through :func:`atomic_path`."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def check_input(path: str | os.PathLike[str], kind: str = "media") -> Path:
    """The path as a Path if it is a non-empty readable regular file, else MediaError with a one-line reason."""
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{p}: no such file")
    if p.is_dir():
        article = "an" if kind[:1] in "aeiou" else "a"
        raise MediaError(f"{p}: is a directory, not {article} {kind} file")
    if not p.is_file():
        raise MediaError(f"{p}: not a regular file")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise MediaError(f"{p}: cannot be read ({exc.strerror})") from None
    if size == 0:
        raise MediaError(f"{p}: empty file (0 bytes)")
    if not os.access(p, os.R_OK):
        raise MediaError(f"{p}: permission denied")
    return p


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when ``a`` and ``b`` name the same file: equal after resolving (symlinks, ``..``), or the same inode
    (a hard link)."""
    a, b = Path(a), Path(b)
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def prepare_output(dst: str | os.PathLike[str], src: Path | None = None) -> Path:
    """Check an output path (parent folder created; not a directory; not the input) and return it as a Path."""
    out = Path(dst)
    if out.is_dir():
        raise MediaError(f"{out}: is a directory; give an output file name")
    if src is not None and out.exists() and same_file(out, src):
        raise MediaError(f"{out}: output would overwrite the input")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaError(f"{out}: cannot create its folder ({exc.strerror})") from None
    return out


FINGERPRINT_BYTES = 64 * 1024       # hashed at each end of a file


def fingerprint(path: str | os.PathLike[str], size: int) -> str:
    """sha256 of the size and the first and last 64 KB of a file (the whole file when it is under 128 KB); 16 hex
    digits. Cheap (two reads), and torch/zip weights files end with their central directory, which holds every
    member's CRC-32, so a retrained weights file of the same size changes its last bytes too."""
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        h.update(fh.read(FINGERPRINT_BYTES))
        if size > 2 * FINGERPRINT_BYTES:
            fh.seek(size - FINGERPRINT_BYTES)
        h.update(fh.read(FINGERPRINT_BYTES))
    return h.hexdigest()[:16]


def file_stamp(path: str | os.PathLike[str] | None) -> list | None:
    """[path, size, mtime_ns, fingerprint] of a file — what caches key on, so a file replaced by another of the same
    size and mtime (``cp -p``) still counts as new; size, mtime and fingerprint are None when it cannot be read."""
    if path is None:
        return None
    try:
        st = Path(path).stat()
        return [str(path), st.st_size, st.st_mtime_ns, fingerprint(path, st.st_size)]
    except OSError:
        return [str(path), None, None, None]
