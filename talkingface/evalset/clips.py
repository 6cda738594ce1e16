"""The clips of a test split with their identities, and the seeded sampling of self and cross pairs from them."""
from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from talkingface.errors import ConfigError
from talkingface.evalset.check import CROSS_JOIN, IDENTITY_RULES, SEPARATOR, identity_of
from talkingface.evalset.layout import few
from talkingface.fsutil import fingerprint
from talkingface.media.images import VIDEO_EXTENSIONS


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


# ------------------------------------------------------------------------------------------------------- clips
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


