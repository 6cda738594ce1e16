"""Step ``--crop_face``: 25 fps frames + 68 landmarks -> 832x640 aligned face crops, one folder per 9-frame clip."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lawdnet.prep import layout
from talkingface.errors import KitError, MediaError
from talkingface.preprocess import Job, WorkResult

#: frames whose landmarks are written with success 0 (no face) carry zeros
_HEADER = ["frame", "face_id", "timestamp", "confidence", "success",
           *(f"x_{i}" for i in range(68)), *(f"y_{i}" for i in range(68))]


def openface_rows(csv_path: Path, frames: int) -> dict[int, np.ndarray | None]:
    """{frame: (68, 2) or None} of an OpenFace CSV that has exactly one row per frame (frames 1..N in OpenFace's
    1-based numbering); missing or extra rows are a KitError naming them (the authors' loader gives up on those)."""
    from talkingface.landmarks.openface import read_openface_csv

    table = read_openface_csv(csv_path)
    missing = sorted(set(range(frames)) - set(table))
    extra = sorted(set(table) - set(range(frames)))
    if missing or extra:
        def show(idx: list[int]) -> str:
            return ", ".join(str(i + 1) for i in idx[:5]) + (" …" if len(idx) > 5 else "")
        parts = ([f"no row for frame {show(missing)}"] if missing else []) + (
            [f"rows for frame {show(extra)} past the last frame"] if extra else [])
        raise KitError(f"{csv_path}: {len(table)} landmark rows for {frames} frames at 25 fps ({'; '.join(parts)}): "
                       "the CSV must come from this video's 25 fps frames, one row per frame")
    return table


class LandmarkCsv:
    """The landmarks used, in OpenFace FeatureExtraction's columns (frame 1-based, success 0 = no face), written
    row by row as frames are seen (nothing per frame is kept: a 2-hour video is 180,000 rows), or nowhere when
    ``path`` is None."""

    def __init__(self, path: Path | None):
        self._fh = None if path is None else path.open("w", newline="")
        self._out = None if self._fh is None else csv.writer(self._fh)
        self.rows = 0
        if self._out is not None:
            self._out.writerow(_HEADER)

    def add(self, points: list[np.ndarray | None]) -> None:
        for p in points:
            i, self.rows = self.rows, self.rows + 1
            if self._out is None:
                continue
            pts = np.zeros((68, 2), np.float32) if p is None else np.asarray(p, np.float32)[:, :2]
            self._out.writerow([i + 1, 0, f"{i / 25:.3f}", f"{0.0 if p is None else 1.0:.2f}", int(p is not None),
                                *(f"{v:.3f}" for v in pts[:, 0]), *(f"{v:.3f}" for v in pts[:, 1])])

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


@dataclass
class CropWork:
    """The crop step of one video (picklable; the landmark backend is built once per worker, on first use).

    Reads ``<FRAMES>/<video>`` under ``root``; clip k is frames 9k .. 9k+8 (complete clips only). A frame without a
    face keeps the last good landmarks before it (within the clip, the first good one for leading misses); a clip
    with no face in any frame is dropped and listed. ``openface_dir``: ``<video>.csv`` per video instead of a
    landmark backend."""

    root: Path
    landmarks: str = "auto"
    openface_dir: Path | None = None
    clip_length: int = 9
    crop_width: int = 640
    device: str = "cpu"
    _backend: object = field(default=None, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_backend": None}

    def backend(self):
        if self._backend is None:
            from talkingface.landmarks import make_backend

            self._backend = make_backend(self.landmarks, device=self.device)
        return self._backend

    def _detector(self, video: str, frames: int):
        """A function (index, RGB frame) -> landmarks or None, and the backend's name."""
        if self.landmarks == "openface-csv":
            path = Path(self.openface_dir) / f"{video}.csv"
            if not path.is_file():
                raise KitError(f"{path}: no OpenFace CSV for {video} in --openface_dir")
            table = openface_rows(path, frames)
            return (lambda i, frame: table[i]), "openface-csv"
        backend = self.backend()
        return (lambda i, frame: backend.detect(frame)), backend.name

    def __call__(self, job: Job, scratch: Path) -> WorkResult:
        import cv2

        video = job.id.split("/", 1)[1]
        record = layout.marker(self.root, "frames", video)
        frame_dir = Path(self.root) / layout.FRAMES / video
        if record is None or not frame_dir.is_dir():
            raise KitError(f"{video}: no frames in {layout.FRAMES}/ (run --extract_video_frame first, or see why "
                           "it failed)")
        n = int(record["frames"])
        clips = n // self.clip_length
        if clips == 0:
            raise MediaError(f"{video}: {n} frames at 25 fps, fewer than one {self.clip_length}-frame clip")
        detect, backend_name = self._detector(video, n)
        out_dir, csv_path = scratch / "crops", scratch / f"{video}.csv"
        found_all = LandmarkCsv(None if self.landmarks == "openface-csv" else csv_path)
        try:
            dropped, misses = self._crop_clips(detect, frame_dir, out_dir, clips, found_all)
            for i in range(clips * self.clip_length, n):        # the tail: only for a complete landmark CSV
                image = cv2.imread(str(frame_dir / layout.frame_name(i)))
                found_all.add([None if image is None else detect(i, cv2.cvtColor(image, cv2.COLOR_BGR2RGB))])
        finally:
            found_all.close()
        if len(dropped) == clips:
            raise MediaError(f"{video}: no face found in any of its {clips} clips ({clips * self.clip_length} "
                             f"frames); LawDNet needs a visible face")
        files = {f"{layout.CROPS}/{video}": out_dir}
        if self.landmarks != "openface-csv":
            files[f"{layout.LANDMARKS}/{video}.csv"] = csv_path
        stats = {"frames": n, "clips": clips, "clips_kept": clips - len(dropped), "clips_dropped": dropped,
                 "faces_not_found": misses, "frames_after_last_clip": n - clips * self.clip_length,
                 "landmarks": backend_name, "crop_size": [int(1.3 * self.crop_width), self.crop_width]}
        return WorkResult(files, stats)

    def _crop_clips(self, detect, frame_dir: Path, out_dir: Path, clips: int, found_all: LandmarkCsv
                    ) -> tuple[list[int], int]:
        """Every complete clip's crops into ``out_dir/<clip>/``, its landmarks onto ``found_all``; returns (clips
        dropped, frames without a face). One clip's frames in memory at a time."""
        import cv2
        import torch

        from lawdnet.face_align import align_matrices, warp_faces

        last, dropped, misses = None, [], 0
        for k in range(clips):
            index = range(k * self.clip_length, (k + 1) * self.clip_length)
            images = []
            for i in index:
                image = cv2.imread(str(frame_dir / layout.frame_name(i)))
                if image is None:
                    raise MediaError(f"{frame_dir / layout.frame_name(i)}: missing or unreadable frame")
                images.append(image)
            found = [detect(i, cv2.cvtColor(im, cv2.COLOR_BGR2RGB)) for i, im in zip(index, images, strict=True)]
            found_all.add(found)
            misses += sum(p is None for p in found)
            good = [p for p in found if p is not None]
            if not good:
                dropped.append(k)
                continue
            points, prev = [], last if last is not None else np.asarray(good[0], np.float32)[:, :2]
            for p in found:
                prev = np.asarray(p, np.float32)[:, :2] if p is not None else prev
                points.append(prev)
            last = points[-1]
            matrices = align_matrices(np.stack(points), self.crop_width)
            clip_dir = out_dir / f"{k:06d}"
            clip_dir.mkdir(parents=True)
            for j, (i, image) in enumerate(zip(index, images, strict=True)):   # one frame at a time: a 4K frame
                frame = torch.from_numpy(image).to(self.device).permute(2, 0, 1)[None].float()  # is 100 MB as float
                face = warp_faces(frame, matrices[j:j + 1], self.crop_width)[0].permute(1, 2, 0).cpu().numpy()
                face = face.astype(np.uint8)                      # BGR in, BGR out: the authors warp cv2's images
                if not cv2.imwrite(str(clip_dir / layout.frame_name(i)), face):
                    raise OSError(f"{clip_dir / layout.frame_name(i)}: cannot write JPEG")
        return dropped, misses
