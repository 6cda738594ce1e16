"""FID's statistics in a fixed order: generated features in plan order, reference frames in fixed blocks.

:class:`PlanOrder`: the generated features enter the statistics sample by sample in the plan's order, however the
samples finished (cached, scored, re-encoded for FID only), so a resumed or merged run adds the same rows in the same
order as one fresh process.

:class:`ReferenceSet`: the reference statistics are built from the files' selected frames in file order, in blocks
of ``batch_size`` rows (a block also ends where the frame size changes, and at the end): ``fid.add_reference(block)``
per block. The blocks depend on the files alone, so the statistics — float64 mean and covariance, merged block by
block — are the same whoever encoded the frames:

* a shard (``--shard i/n``, :meth:`ReferenceSet.encode_part`) encodes only its files (positions i, i+n, …) and
  stores each file's features and frame size in ``cache/fid/ref_<file stamp hash>_<FID key>.npz``;
* the merge (:meth:`ReferenceSet.add_all`) takes those files' features from there, encodes the others, and adds
  the very same blocks as one process that encoded every file (equal statistics, so an equal FID).

A file that cannot be read (wholly or partly) is skipped with a warning; the frames read before the failure count,
as they always have, but its features are not stored (the merge reads the file again, and warns again).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from talkingface.errors import KitError, one_line
from talkingface.evaluation.frames import FrameFile, fid_stride
from talkingface.evaluation.metrics import options_hash
from talkingface.fsutil import file_stamp


class PlanOrder:
    """``done(i, feats)`` for every position of ``positions`` (features or None), in any order: the features go to
    ``fid.add_generated_features`` in the order of ``positions``."""

    def __init__(self, fid, positions: list):
        self.fid, self.positions = fid, positions
        self.next = 0
        self.ready: dict = {}

    def done(self, i: int, feats) -> None:
        self.ready[i] = feats
        while self.next < len(self.positions) and self.positions[self.next] in self.ready:
            feats = self.ready.pop(self.positions[self.next])
            self.next += 1
            if feats is not None:
                self.fid.add_generated_features(feats)

    @property
    def complete(self) -> bool:
        return self.next == len(self.positions)


def reference_stats_path(out: Path, fid_tag: str, files: list) -> Path:
    """Where the merged reference statistics of ``files`` are cached (``fid.save_reference_cache``)."""
    return Path(out) / "cache" / f"fid_ref_{options_hash([fid_tag, [file_stamp(f) for f in files]])}.npz"


def reference_key(path, fid_tag: str) -> str:
    """The feature-cache key of one reference file (its stamp: path, size, mtime, content fingerprint)."""
    return f"ref_{options_hash(file_stamp(path))}_{fid_tag}"


class _File:
    __slots__ = ("key", "chunks", "pending", "read", "ok", "shape")

    def __init__(self, key: str):
        self.key = key
        self.chunks: list = []       # its features, block by block (stored when the file is done)
        self.pending = 0             # its rows in the current block
        self.read = False
        self.ok = True
        self.shape: tuple = ()


class ReferenceSet:
    """The reference files of a run through ``fid``: :meth:`add_all` (statistics) or :meth:`encode_part` (a
    shard's files into the feature cache)."""

    def __init__(self, fid, cache, fid_tag: str, cfg, warnings: list, log: Callable[[str], None]):
        self.fid, self.cache, self.fid_tag = fid, cache, fid_tag
        self.batch_size, self.max_frames = cfg.batch_size, cfg.fid_max_frames_per_video
        self.warnings, self.log = warnings, log
        self._block: list = []       # (file, "raw" frames | "feat" features, rows)
        self._rows = 0
        self._shape: Optional[tuple] = None
        self._stats = self._store = False
        self._open: list = []

    def add_all(self, files: list) -> None:
        """Every file into the reference statistics (features a shard stored are read, not encoded again)."""
        self._stats, self._store = True, False
        for path in files:
            entry = _File(reference_key(path, self.fid_tag))
            cached = self.cache.get_reference_features(entry.key)
            if cached is not None:
                feats, shape = cached
                self._push(entry, "feat", feats, shape)
                entry.read = True
            else:
                self._read(entry, path)
        self._emit()

    def encode_part(self, files: list, positions: Iterable[int]) -> None:
        """The files at ``positions`` into the feature cache (those already there are left as they are)."""
        self._stats, self._store = False, True
        for i in positions:
            entry = _File(reference_key(files[i], self.fid_tag))
            if self.cache.get_reference_features(entry.key) is not None:
                continue
            self._open.append(entry)
            self._read(entry, files[i])
            self._finish()
        self._emit()
        self._finish()

    def _read(self, entry: _File, path) -> None:
        limit = self.max_frames
        try:
            with FrameFile(path) as f:
                stride = fid_stride(f.count, limit)
                pos = taken = 0
                for chunk in f.chunks(self.batch_size):
                    sel = chunk[(np.arange(pos, pos + len(chunk)) % stride) == 0]
                    pos += len(chunk)
                    if limit:
                        sel = sel[:max(0, limit - taken)]
                    taken += len(sel)
                    if len(sel):
                        entry.shape = tuple(sel.shape[1:])
                        self._push(entry, "raw", sel, entry.shape)
        except (KitError, OSError) as exc:
            entry.ok = False
            line = f"FID reference: skipped {path} ({one_line(exc)})"
            self.warnings.append(line)
            self.log(line)
        entry.read = True

    def _push(self, entry: _File, kind: str, rows: np.ndarray, shape: tuple) -> None:
        if not len(rows):
            return
        if self._block and shape != self._shape:
            self._emit()
        self._shape = shape
        while len(rows):
            take = min(len(rows), self.batch_size - self._rows)
            self._block.append((entry, kind, rows[:take]))
            entry.pending += take
            self._rows += take
            rows = rows[take:]
            if self._rows == self.batch_size:
                self._emit()

    def _emit(self) -> None:
        """One block: into the statistics (and/or, split by file, to be stored)."""
        block, self._block, self._rows = self._block, [], 0
        if not block:
            return
        for entry, _, rows in block:
            entry.pending -= len(rows)
        if self._stats and all(kind == "raw" for _, kind, _ in block):
            self.fid.add_reference(np.concatenate([rows for _, _, rows in block]))
            return
        raw = [rows for _, kind, rows in block if kind == "raw"]
        encoded = np.asarray(self.fid.features(np.concatenate(raw))) if raw else None
        parts, start = [], 0
        for entry, kind, rows in block:
            if kind == "raw":
                rows = encoded[start:start + len(rows)]
                start += len(rows)
            parts.append(rows)
            if self._store:
                entry.chunks.append(rows)
        if self._stats:
            self.fid.add_reference_features(np.concatenate(parts))

    def _finish(self) -> None:
        """Store every file whose rows have all been encoded."""
        left = []
        for entry in self._open:
            if not entry.read or entry.pending:
                left.append(entry)
            elif entry.ok:
                feats = np.concatenate(entry.chunks) if entry.chunks else np.zeros((0, getattr(self.fid, "dims", 0)))
                self.cache.put_reference_features(entry.key, feats, entry.shape)
        self._open = left
