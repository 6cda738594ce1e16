"""``Tracker``: what rank 0 records of a run — ``losses.csv``, TensorBoard events, ``settings.yaml``.

``losses.csv`` has one row per logged step: ``step`` (global steps done), ``epoch``, ``time`` (Unix seconds), then
one column per loss key in the order first seen; a key that appears later extends the header (the file is rewritten
once, earlier rows get empty cells). A resumed run first drops the rows after its checkpoint's step, so the file
reads as one uninterrupted run. TensorBoard tags: ``train/<key>`` per logged step, ``epoch/<key>`` (epoch means),
``eval/<key>``, ``images/<name>``; the x axis is always the global step.
"""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import yaml

from talkingface.fsutil import write_text_atomic
from talkingface.training.tbevents import EventWriter

FIXED = ("step", "epoch", "time")


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.exists():
        return [], []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _csv_text(header: list[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


class Tracker:
    """Records of one process; everything is a no-op unless ``enabled`` (rank 0)."""

    def __init__(self, run_dir: Path, enabled: bool, start_step: int = 0):
        self.enabled = enabled
        self.csv_path = Path(run_dir) / "losses.csv"
        self.rows: list[dict[str, float]] = []
        self._header: list[str] = []
        self._fh = None
        self._events: EventWriter | None = None
        if not enabled:
            return
        header, rows = _read_rows(self.csv_path)
        kept = [r for r in rows if r.get("step", "").isdigit() and int(r["step"]) <= start_step]
        if kept or self.csv_path.exists():
            self._header = header if kept else []
            write_text_atomic(self.csv_path, _csv_text(header, kept) if kept else "")
        self._events = EventWriter(Path(run_dir) / "tensorboard", purge_step=start_step + 1 if start_step else None)

    def write_settings(self, settings: dict[str, Any], path: Path) -> None:
        """The resolved settings as YAML (atomically)."""
        if self.enabled:
            write_text_atomic(path, yaml.safe_dump(settings, sort_keys=False))

    def log_step(self, step: int, epoch: int, values: dict[str, float]) -> None:
        """One CSV row and ``train/*`` scalars."""
        if not self.enabled:
            return
        row = {"step": step, "epoch": epoch, "time": round(time.time(), 3), **values}
        self.rows.append(row)
        new = [k for k in row if k not in self._header]
        if new:
            self._extend_header(new)
        if self._fh is None:
            self._fh = open(self.csv_path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        csv.DictWriter(self._fh, fieldnames=self._header, restval="", lineterminator="\n").writerow(
            {k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
        self._fh.flush()
        self._events.scalars({f"train/{k}": v for k, v in values.items()}, step)
        self._events.flush()

    def _extend_header(self, new: list[str]) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        _, rows = _read_rows(self.csv_path)
        self._header = self._header + new if self._header else list(FIXED) + [k for k in new if k not in FIXED]
        write_text_atomic(self.csv_path, _csv_text(self._header, rows))

    def log_scalars(self, prefix: str, values: dict[str, float], step: int) -> None:
        """``<prefix>/<key>`` scalars (epoch means, evaluation values)."""
        if self.enabled and values:
            self._events.scalars({f"{prefix}/{k}": v for k, v in values.items()}, step)
            self._events.flush()

    def log_images(self, images: dict[str, Any] | None, step: int) -> None:
        """``images/<name>`` PNGs of CHW float tensors in [0, 1]."""
        if self.enabled and images:
            self._events.images({f"images/{k}": v for k, v in images.items()}, step)
            self._events.flush()

    def close(self) -> None:
        """Flush and close the CSV and event files."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._events is not None:
            self._events.close()
            self._events = None
