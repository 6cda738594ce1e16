"""Check the manifest's weight files on disk: present, right size, and (deep) the published digests.

    from talkingface.weights import get_entry
    from talkingface.weights.verify import check
    check(get_entry("syncnet_v2"), deep=True).state   # present/missing/wrong size/bad hash/ok/unverified
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from talkingface.weights.manifest import WeightEntry, locate

_HASH_CHUNK = 4 << 20
_PROGRESS_MIN_BYTES = 64 << 20


@dataclasses.dataclass(frozen=True)
class WeightStatus:
    """The state of one file: ``state`` is present, missing, wrong size, bad hash, ok or unverified."""

    entry: WeightEntry
    path: Path
    origin: str
    state: str
    detail: str = ""
    sha256: str | None = None

    @property
    def ok(self) -> bool:
        return self.state in {"present", "ok", "unverified"}


def hash_file(path: str | os.PathLike, algorithms: Iterable[str] = ("sha256",), progress: bool | None = None,
              label: str | None = None) -> dict[str, str]:
    """Hex digests of a file, streamed; a progress bar on stderr for big files (``progress=None``: when a TTY)."""
    path = Path(path)
    hashers = {name: hashlib.new(name) for name in algorithms}
    total = path.stat().st_size
    bar = None
    if progress is not False and total >= _PROGRESS_MIN_BYTES:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, leave=False,
                   desc=f"hashing {label or path.name}", disable=None if progress is None else False)
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                for h in hashers.values():
                    h.update(chunk)
                if bar is not None:
                    bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    return {name: h.hexdigest() for name, h in hashers.items()}


def digest_problem(entry: WeightEntry, digests: dict[str, str]) -> str | None:
    """A one-line description of how ``digests`` contradict the manifest, or None when they agree."""
    if entry.sha256 and digests.get("sha256") != entry.sha256:
        return f"sha256 {digests.get('sha256')} but the manifest expects {entry.sha256}"
    if entry.md5 and digests.get("md5") != entry.md5:
        return f"md5 {digests.get('md5')} but the published md5 is {entry.md5}"
    if entry.sha256_prefix and not digests.get("sha256", "").startswith(entry.sha256_prefix):
        return f"sha256 {digests.get('sha256')} does not start with {entry.sha256_prefix} (the prefix in its file name)"
    return None


def check(entry: WeightEntry, root: str | os.PathLike | None = None, deep: bool = False,
          progress: bool | None = None) -> WeightStatus:
    """Existence and size (fast); with ``deep`` also the published digests (the sha256 is always computed)."""
    found = locate(entry, root)
    if found is None:
        return WeightStatus(entry, entry.target(root), "checkpoints", "missing")
    path, origin = found
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        return WeightStatus(entry, path, origin, "wrong size", f"{size} bytes, expected {entry.size}")
    if not deep:
        return WeightStatus(entry, path, origin, "present", f"{size} bytes")
    algorithms = ("sha256", "md5") if entry.md5 else ("sha256",)
    digests = hash_file(path, algorithms, progress=progress, label=entry.name)
    problem = digest_problem(entry, digests)
    if problem:
        return WeightStatus(entry, path, origin, "bad hash", problem, digests["sha256"])
    if entry.digest_kind == "none published":
        return WeightStatus(entry, path, origin, "unverified",
                            f"no published digest; this copy's sha256 is {digests['sha256']}", digests["sha256"])
    return WeightStatus(entry, path, origin, "ok", f"{entry.digest_kind} matches", digests["sha256"])
