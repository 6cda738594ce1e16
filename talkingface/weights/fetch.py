"""Download the manifest's weight files (resume, digests checked before the atomic rename, archives), or say the
manual steps for those that cannot be downloaded.

    from talkingface.weights import get_entry
    from talkingface.weights.fetch import fetch
    fetch(get_entry("syncnet_v2"))                    # -> FetchResult; WeightsError with one line on any failure

A download goes to ``<target>.part`` (an archive to ``<checkpoints>/.downloads/<archive>.part``) and continues from
there with an HTTP Range request when run again. The finished file is checked against the manifest's size and
digests before it is renamed into place; a mismatch deletes it. Files that cannot be downloaded (Google Drive,
OneDrive, Baidu Netdisk) have :func:`manual_steps`.
"""
from __future__ import annotations

import dataclasses
import http.client
import os
import re
import shutil
import socket
import sys
import tarfile
import textwrap
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from talkingface import __version__
from talkingface.errors import WeightsError
from talkingface.fsutil import temp_sibling
from talkingface.weights.manifest import WeightEntry, checkpoints_dir
from talkingface.weights.verify import check, digest_problem, hash_file

DEFAULT_TIMEOUT = 10.0
_CHUNK = 1 << 20
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, TimeoutError, socket.timeout, ConnectionError)


# ----------------------------------------------------------------------------------------------------- fetching
@dataclasses.dataclass(frozen=True)
class FetchResult:
    name: str
    path: Path
    action: str  # "present", "downloaded", "copied"
    detail: str = ""


def manual_steps(entry: WeightEntry, root: str | os.PathLike | None = None) -> str:
    """What a user does by hand to put the file in place, and how to check it."""
    body = entry.manual or f"Download it from {entry.source}."
    lines = [f"{entry.name}: cannot be downloaded automatically ({entry.description}).",
             textwrap.indent(body.strip(), "  "),
             f"  Put the file at: {entry.target(root)}",
             f"  Then check it:   python -m talkingface weights verify {entry.name}"]
    if entry.digest_kind == "none published":
        lines.append("  (no digest is published for it; verify prints its sha256 so you can record it)")
    return "\n".join(lines)


def _verify_or_delete(entry: WeightEntry, path: Path, shown_as: Path) -> str:
    """Check size and digests of a finished file; delete it and raise when they do not match."""
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        path.unlink(missing_ok=True)
        raise WeightsError(f"{entry.name}: downloaded {size} bytes, expected {entry.size}; deleted {shown_as}")
    digests = hash_file(path, ("sha256", "md5") if entry.md5 else ("sha256",), label=entry.name)
    problem = digest_problem(entry, digests)
    if problem:
        path.unlink(missing_ok=True)
        raise WeightsError(f"{entry.name}: downloaded file has {problem}; deleted it, nothing was installed")
    if entry.digest_kind == "none published":
        return f"sha256 {digests['sha256']} (no published digest to compare)"
    return f"{entry.digest_kind} verified"


def _total_from_range(value: str | None) -> int | None:
    found = re.match(r"bytes\s+(\d+|\*)(?:-\d+)?/(\d+)", value or "")
    return int(found.group(2)) if found else None


def _open_part(part: Path, mode: str):
    try:
        part.parent.mkdir(parents=True, exist_ok=True)
        return open(part, mode)
    except OSError as exc:
        raise WeightsError(f"cannot write {part}: {exc.strerror or exc}") from None


def _write(fh, chunk: bytes, part: Path) -> None:
    try:
        fh.write(chunk)
    except OSError as exc:
        raise WeightsError(f"cannot write {part}: {exc.strerror or exc}") from None


def download(url: str, part: Path, timeout: float = DEFAULT_TIMEOUT, label: str = "",
             progress: bool | None = None) -> Path:
    """Download ``url`` into ``part``, continuing an existing partial file with a Range request.

    Network failures raise WeightsError (one line, the partial file is kept for the next run).
    """
    from tqdm import tqdm

    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": f"talkingface-kit/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        try:
            response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset and _total_from_range(exc.headers.get("Content-Range")) == offset:
                return part  # the partial file is already complete
            if exc.code == 416 and offset:
                part.unlink()
                return download(url, part, timeout, label, progress)
            raise WeightsError(f"cannot download {label or url}: {url} answered HTTP {exc.code} {exc.reason}") from None
        with response:
            status = getattr(response, "status", 200)
            total = None
            if status == 206 and offset:
                start = re.match(r"bytes\s+(\d+)-", response.headers.get("Content-Range", ""))
                if not start or int(start.group(1)) != offset:
                    raise WeightsError(f"cannot resume {label or url}: {url} sent an unexpected Content-Range")
                total = _total_from_range(response.headers.get("Content-Range"))
                mode = "ab"
            else:
                offset, mode = 0, "wb"  # the server ignored the Range header: start over
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
            bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=label or None,
                       disable=None if progress is None else not progress, file=sys.stderr)
            received = offset
            try:
                fh = _open_part(part, mode)
                with fh:
                    while chunk := response.read(_CHUNK):
                        _write(fh, chunk, part)
                        received += len(chunk)
                        bar.update(len(chunk))
            finally:
                bar.close()
    except _NETWORK_ERRORS as exc:
        reason, hint = getattr(exc, "reason", None) or exc, " (no network?)"
        if isinstance(reason, (TimeoutError, socket.timeout)):
            reason, hint = f"timed out after {timeout:g} s", " (no network, or a slow server: raise --timeout)"
        elif isinstance(exc, http.client.HTTPException):
            reason, hint = f"connection dropped ({type(exc).__name__}: {exc})", ""
        kept = f"; {part.name} is kept, run fetch again to resume" if part.is_file() and part.stat().st_size else ""
        raise WeightsError(f"cannot download {label or url} from {url}: {reason}{hint}{kept}") from None
    if total is not None and received != total:
        raise WeightsError(f"download of {label or url} stopped at {received} of {total} bytes; run fetch again "
                           f"to resume from {part}")
    return part


def _extract(entry: WeightEntry, archive: Path, target: Path) -> Path:
    """Copy the manifest's ``extract`` member of a zip or tar archive to a temporary file next to ``target``."""
    member = entry.extract or ""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(target)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                if member not in zf.namelist():
                    raise WeightsError(f"{archive}: no member {member!r} (has {', '.join(zf.namelist()[:5])} ...)")
                with zf.open(member) as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
        else:
            with tarfile.open(archive, "r:*") as tf:
                try:
                    info = tf.getmember(member)
                except KeyError:
                    names = ", ".join(tf.getnames()[:5])
                    raise WeightsError(f"{archive}: no member {member!r} (has {names} ...)") from None
                src = tf.extractfile(info)
                if src is None:
                    raise WeightsError(f"{archive}: member {member!r} is not a regular file")
                with src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)
        raise WeightsError(f"{archive}: damaged archive ({exc}); deleted it, run fetch again") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _install(entry: WeightEntry, tmp: Path, target: Path) -> str:
    detail = _verify_or_delete(entry, tmp, target)
    os.replace(tmp, target)
    return detail


def _fetch_url(entry: WeightEntry, url: str, target: Path, root: Path, timeout: float,
               progress: bool | None) -> str:
    if not entry.extract:
        part = target.with_name(target.name + ".part")
        download(url, part, timeout, entry.name, progress)
        return _install(entry, part, target)
    archive_name = url.rstrip("/").rsplit("/", 1)[-1] or f"{entry.name}.archive"
    archive = root / ".downloads" / archive_name
    if not archive.is_file():
        part = archive.with_name(archive.name + ".part")
        download(url, part, timeout, entry.name, progress)
        os.replace(part, archive)
    tmp = _extract(entry, archive, target)
    try:
        detail = _install(entry, tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    archive.unlink(missing_ok=True)
    return f"{detail}; extracted {entry.extract}"


def fetch(entry: WeightEntry, root: str | os.PathLike | None = None, timeout: float = DEFAULT_TIMEOUT,
          progress: bool | None = None, log: Callable[[str], None] | None = None) -> FetchResult:
    """Put ``entry``'s file in the checkpoints folder, unless a good copy is already found.

    Raises WeightsError (one line) when it cannot: no network, HTTP error, digest mismatch (nothing is installed),
    an existing copy that is damaged (it is left for the user to delete), or no automatic source (see
    :func:`manual_steps`).
    """
    root_dir = Path(root) if root is not None else checkpoints_dir()
    target = entry.target(root_dir)
    status = check(entry, root_dir)
    if status.state == "wrong size":
        raise WeightsError(f"{status.path}: {status.detail}; delete it and run fetch again")
    if status.state == "present" and status.origin == "checkpoints":
        return FetchResult(entry.name, status.path, "present", "already in place")
    if status.state == "present" and not entry.package_file:
        return FetchResult(entry.name, status.path, "present", f"found in the {status.origin}")
    if entry.package_file and status.state == "present":
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_sibling(target)
        shutil.copyfile(status.path, tmp)
        try:
            detail = _install(entry, tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return FetchResult(entry.name, target, "copied", f"from {status.path}; {detail}")
    if not entry.urls:
        raise WeightsError(f"{entry.name} cannot be downloaded automatically; "
                           f"`python -m talkingface weights fetch {entry.name}` prints the manual steps")
    errors = []
    for url in entry.urls:
        if log:
            log(f"{entry.name}: downloading {url}")
        try:
            detail = _fetch_url(entry, url, target, root_dir, timeout, progress)
            return FetchResult(entry.name, target, "downloaded", detail)
        except WeightsError as exc:
            errors.append(str(exc))
    raise WeightsError(errors[-1] if len(errors) == 1 else " | ".join(errors))
