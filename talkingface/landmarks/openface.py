"""The ``openface-csv`` landmark backend: landmarks computed elsewhere by OpenFace, read from its CSV files."""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from talkingface.errors import KitError
from talkingface.landmarks.base import NUM_POINTS, LandmarkBackend


def read_openface_csv(path: str | os.PathLike) -> dict[int, np.ndarray | None]:
    """OpenFace CSV -> {0-based frame index: (68, 2) float32 or None (``success`` 0)}; first face per frame."""
    path = Path(path)
    if not path.is_file():
        raise KitError(f"{path}: OpenFace landmark CSV not found")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise KitError(f"{path}: cannot read OpenFace CSV ({exc})") from None
    col = {name: i for i, name in enumerate(header)}
    names = [f"x_{i}" for i in range(NUM_POINTS)] + [f"y_{i}" for i in range(NUM_POINTS)]
    missing = [n for n in names if n not in col]
    if missing:
        raise KitError(f"{path}: not an OpenFace landmark CSV (no column {missing[0]}; expected x_0..x_67, y_0..y_67)")
    out: dict[int, np.ndarray | None] = {}
    for line, row in enumerate(rows, start=2):
        if not row or all(not v.strip() for v in row):
            continue
        try:
            index = int(float(row[col["frame"]])) - 1 if "frame" in col else len(out)  # OpenFace counts from 1
            if index in out:
                continue  # another face of the same frame
            ok = float(row[col["success"]]) > 0 if "success" in col else True
            values = np.array([float(row[col[n]]) for n in names], dtype=np.float32)
        except (ValueError, IndexError):
            raise KitError(f"{path}:{line}: malformed row (numbers expected in frame/success/x_*/y_*)") from None
        out[index] = values.reshape(2, NUM_POINTS).T.copy() if ok else None
    return out


class OpenFaceCSVBackend(LandmarkBackend):
    """Landmarks read from OpenFace CSV files instead of computed: ``video_csv`` for the driving frames (by frame
    number), ``image_csv`` for a still image (the source)."""

    name = "openface-csv"
    frame_indexed = True          # detect_video answers by frame number

    def __init__(self, video_csv: str | os.PathLike | None = None, image_csv: str | os.PathLike | None = None):
        if video_csv is None and image_csv is None:
            raise KitError("the openface-csv landmark backend needs a CSV (--landmarks_csv and/or "
                           "--source_landmarks_csv)")
        self.video_csv, self.image_csv = video_csv, image_csv
        self.video = read_openface_csv(video_csv) if video_csv is not None else None
        self.image = read_openface_csv(image_csv) if image_csv is not None else None

    def detect(self, frame: np.ndarray) -> np.ndarray | None:
        if self.image is None:
            raise KitError("openface-csv landmarks: no CSV for the still image (give --source_landmarks_csv)")
        return next((p for _, p in sorted(self.image.items()) if p is not None), None)

    def detect_video(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray | None]:
        if self.video is None:
            raise KitError("openface-csv landmarks: no CSV for the video (give --landmarks_csv)")
        for index, _ in enumerate(frames):
            yield self.video.get(index)
