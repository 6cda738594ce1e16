"""The resume cache: one JSON line per finished sample in ``<output_path>/results_cache.jsonl``.

Each line is written, flushed and fsync'ed as soon as its sample is done, so a killed run loses at most the sample
it was scoring. A line is keyed by: run name, sample id, size + mtime of the generated / ground-truth / source files,
the set of metrics scored per sample and their protocol options. On start the file is read, a truncated last line
(from a kill) is cut off, and samples whose key is present are taken from it instead of being scored again.
Per-sample FID Inception features live next to it in ``cache/fid/<key>.npy`` so resumed samples are not re-encoded.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Optional

import numpy as np

from talkingface.fsutil import atomic_path

CACHE_NAME = "results_cache.jsonl"
CACHE_VERSION = 1


def file_stamp(path: Optional[Path]) -> Optional[list]:
    if path is None:
        return None
    try:
        st = Path(path).stat()
    except OSError:
        return [str(path), None, None]
    return [str(path), st.st_size, st.st_mtime_ns]


def sample_key(run: str, sample, metric_options: dict) -> str:
    """A stable hash of everything a sample's cached values depend on."""
    payload = {"v": CACHE_VERSION, "run": run, "sample": sample.sample, "same": sample.same_identity,
               "files": [file_stamp(sample.generated), file_stamp(sample.reference), file_stamp(sample.source)],
               "metrics": metric_options}
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class ResultCache:
    """Append-only JSONL of finished samples; ``get(key)`` → the cached record or None."""

    def __init__(self, output_path: Path):
        self.path = Path(output_path) / CACHE_NAME
        self.feature_dir = Path(output_path) / "cache" / "fid"
        self.records: dict[str, dict] = {}
        self.dropped_lines = 0
        self._load()
        self._fh = None

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):                      # a kill mid-line: cut the partial tail so appends start clean
            with self.path.open("r+b") as fh:
                fh.truncate(end)
            self.dropped_lines += 1
        for line in data[:end].splitlines():
            try:
                entry = json.loads(line)
                self.records[entry["key"]] = entry["record"]
            except (ValueError, KeyError, TypeError):
                self.dropped_lines += 1

    def get(self, key: str) -> Optional[dict]:
        return self.records.get(key)

    def put(self, key: str, record: dict) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write(json.dumps({"key": key, "record": record}, default=_plain) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.records[key] = record

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

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
