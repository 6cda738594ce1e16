"""The resume cache: one JSON line per finished sample in ``<output_path>/results_cache.jsonl``, keyed on every input.

Keys, by design (tests/evaluate/test_cache_keys.py checks that each is exact):

* a line's **sample key** hashes the run name, the sample id, its identity flag, the resize option and the
  :func:`file_stamp` of its generated, ground-truth and source files (path, size, mtime and a content fingerprint, so
  a file replaced with one of the same size and mtime, e.g. ``cp -p``, still counts as new). The source enters the
  key because the visuals show it and source-referenced metrics (CSIM) score against it: a replaced source re-scores
  its sample;
* inside a line, each metric's value carries a **metric key** (``Metrics.keys``: its protocol, options and the
  stamps of its weights files, e.g. FID's Inception, LPIPS' AlexNet and linear layers, SyncNet). A sample whose line
  is found is scored again only for the metrics whose key changed (or that were not asked for before); the others
  keep their values. A new line with the merged record is appended; the last line of a key wins.

Per-sample FID Inception features live in ``cache/fid/<sample key>_<FID key>.npy`` (the FID key holds the Inception
stamp), so resumed samples are not re-encoded and new weights re-encode every sample.

A record keeps ``skipped_frames`` ({metric: frames its protocol skipped, e.g. no face found}) and a note per such
metric (:func:`skip_note`), so a resumed run reports what a fresh one does; records written before the field have
none (they come from metrics that never skip a frame).

Writing: each line is written in one piece, flushed and fsync'ed as soon as its sample is done, so a killed run loses
at most the sample it was scoring. A write that fails midway is cut off again, so the file stays whole lines; a kill
mid-line leaves a partial last line, which the next run drops (``dropped_lines``). A failing fsync stops the run
with an OutputError: it is not retried, because after a failed fsync the kernel may have dropped the unwritten
pages and a second fsync can report success without them (the line stays in the file; the next run reads it if it
is whole and scores the sample again if it is not).

Shards (``--shard i/n``, torchrun's ranks; docs/scale_out.md): a shard writes its lines into a file of its own,
``results_cache.shard-<i>-of-<n>.jsonl``, so processes never append to the same file. Every process reads the main
file and every shard file present (oldest first, the last line of a key wins), so the merge — a run without
``shard`` — finds each sample a shard scored. Only the process's own file is ever cut back; a partial last line of
another file (a shard still writing) is skipped, not removed.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Optional

import numpy as np

from talkingface.errors import OutputError, describe_os_error
from talkingface.fsutil import atomic_path, file_stamp

CACHE_NAME = "results_cache.jsonl"
SHARD_PATTERN = "results_cache.shard-*-of-*.jsonl"
CACHE_VERSION = 2


_SKIP_NOTE = re.compile(r"^(\w+): \d+ of \d+ frames skipped \(")


def skip_note(name: str, skipped: int, total: int, reason: str) -> str:
    """``akd: 3 of 40 frames skipped (no face found)``: a sample's note for frames a metric's protocol skipped."""
    return f"{name}: {skipped} of {total} frames skipped ({reason})"


def _skip_note_of(note: str) -> Optional[str]:
    """The metric a :func:`skip_note` is about; None for any other note."""
    match = _SKIP_NOTE.match(str(note))
    return match.group(1) if match else None


def shard_cache_name(shard: tuple[int, int]) -> str:
    """The resume-cache file of shard ``(i, n)``."""
    return f"results_cache.shard-{shard[0]}-of-{shard[1]}.jsonl"


def sample_key(run: str, sample, options: dict) -> str:
    """A stable hash of the files of a sample and the options every metric's value depends on (``options``)."""
    payload = {"v": CACHE_VERSION, "run": run, "sample": sample.sample, "same": sample.same_identity,
               "files": [file_stamp(sample.generated), file_stamp(sample.reference), file_stamp(sample.source)],
               "options": options}
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def stale_metrics(entry: Optional[dict], wanted: set, keys: dict) -> set:
    """The metrics of ``wanted`` a cached ``entry`` cannot give: no entry, a failed sample, or a different key."""
    if entry is None or entry["record"].get("error"):
        return set(wanted)
    have = entry.get("metrics", {})
    return {name for name in wanted if have.get(name) != keys.get(name)}


def merge_records(base: Optional[dict], new: dict, scored: set) -> dict:
    """``new`` (the record of a sample scored again for the metrics ``scored``) completed with the values of the
    other metrics from the cached record ``base``."""
    if base is None or new.get("error"):
        return new
    out = dict(new)
    out["values"] = {**{k: v for k, v in base["values"].items() if k not in scored}, **new["values"]}
    out["not_computable"] = {**{k: v for k, v in base["not_computable"].items() if k not in scored},
                             **new["not_computable"]}
    out["extras"] = {**base.get("extras", {}), **new.get("extras", {})}
    out["skipped_frames"] = {**{k: v for k, v in base.get("skipped_frames", {}).items() if k not in scored},
                             **new.get("skipped_frames", {})}
    kept = [n for n in base.get("notes", []) if _skip_note_of(n) not in scored]
    out["notes"] = list(dict.fromkeys(new["notes"] + kept))
    return out


def present(record: dict, names: list, groups: list) -> dict:
    """A cached record as this run reports it: values and reasons of the requested metrics ``names`` only, and the
    extras of the requested video-metric ``groups`` (the cache may hold more from runs that asked for more)."""
    out = dict(record)
    out["values"] = {k: v for k, v in record["values"].items() if k in names}
    out["not_computable"] = {k: v for k, v in record["not_computable"].items() if k in names}
    out["extras"] = {k: v for k, v in record.get("extras", {}).items() if "/" not in k or k in groups}
    out["skipped_frames"] = {k: v for k, v in record.get("skipped_frames", {}).items() if k in names}
    out["notes"] = [n for n in record.get("notes", []) if _skip_note_of(n) in (None, *names)]
    return out


class ResultCache:
    """Append-only JSONL of finished samples: ``get(key)`` → ``{"record", "metrics"}`` or None; ``put``.

    ``shard`` (i, n) writes ``results_cache.shard-<i>-of-<n>.jsonl`` instead of ``results_cache.jsonl``; lines are
    read from both kinds of file either way. ``shard_files``: the names of the shard files read (the own one aside)."""

    def __init__(self, output_path: Path, shard: Optional[tuple[int, int]] = None):
        out = Path(output_path)
        self.path = out / (CACHE_NAME if shard is None else shard_cache_name(shard))
        self.feature_dir = out / "cache" / "fid"
        self.records: dict[str, dict] = {}
        self.dropped_lines = 0
        files = [p for p in [out / CACHE_NAME, *sorted(out.glob(SHARD_PATTERN))] if p.is_file() or p == self.path]
        self.shard_files = [p.name for p in files if p.name != CACHE_NAME and p != self.path]
        for path in sorted(files, key=_age):
            self._load(path, own=path == self.path)
        self._fd: Optional[int] = None

    def _load(self, path: Path, own: bool) -> None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        if end < len(data):                      # a kill mid-line: cut the partial tail so appends start clean
            if own:
                with path.open("r+b") as fh:
                    fh.truncate(end)
            self.dropped_lines += 1
        for line in data[:end].splitlines():
            try:
                entry = json.loads(line)
                self.records[entry["key"]] = {"record": entry["record"], "metrics": dict(entry.get("metrics", {}))}
            except (ValueError, KeyError, TypeError, AttributeError):
                self.dropped_lines += 1

    def get(self, key: str) -> Optional[dict]:
        return self.records.get(key)

    def put(self, key: str, record: dict, metrics: Optional[dict] = None) -> None:
        """Append one line and make it durable; raises OutputError when it cannot (see the module docstring)."""
        line = (json.dumps({"key": key, "metrics": metrics or {}, "record": record}, default=_plain) + "\n").encode()
        try:
            if self._fd is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            start = os.lseek(self._fd, 0, os.SEEK_END)
        except OSError as exc:
            raise OutputError(f"{self.path}: resume cache cannot be written ({describe_os_error(exc)})") from None
        try:
            self._write_line(line)
        except BaseException as exc:             # never leave a partial line for the next append to glue onto
            try:
                os.ftruncate(self._fd, start)
            except OSError:
                pass
            if isinstance(exc, OSError):
                raise OutputError(f"{self.path}: resume cache line not written ({describe_os_error(exc)}); "
                                  f"the samples scored so far are kept") from None
            raise
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise OutputError(f"{self.path}: resume cache not saved to disk (fsync failed: "
                              f"{describe_os_error(exc)}); stopping, not retrying: the run can be resumed") from None
        self.records[key] = {"record": record, "metrics": dict(metrics or {})}

    def _write_line(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    # FID features of one sample (float32 is exactly what pytorch-fid's Inception returns)
    def feature_path(self, key: str) -> Path:
        return self.feature_dir / f"{key}.npy"

    def get_features(self, key: str) -> Optional[np.ndarray]:
        path = self.feature_path(key)
        if not path.is_file():
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None

    def put_features(self, key: str, feats: np.ndarray) -> None:
        path = self.feature_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, fsync=True) as tmp:
            np.save(tmp, np.asarray(feats, dtype=np.float32))

    # FID features of one reference (ground-truth) file, with the size of its frames (talkingface.evaluation.fidstats)
    def get_reference_features(self, key: str) -> Optional[tuple[np.ndarray, tuple]]:
        path = self.feature_dir / f"{key}.npz"
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as f:
                return f["feats"], tuple(int(v) for v in f["shape"])
        except (OSError, ValueError, KeyError):
            return None

    def put_reference_features(self, key: str, feats: np.ndarray, shape: tuple) -> None:
        path = self.feature_dir / f"{key}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, fsync=True) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, feats=np.asarray(feats, dtype=np.float32), shape=np.asarray(shape, dtype=np.int64))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _age(path: Path) -> tuple:
    """Oldest file first (its lines are overridden by later files' lines of the same key); then by name."""
    try:
        return (path.stat().st_mtime_ns, path.name)
    except OSError:
        return (float("inf"), path.name)


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
