"""68-point face landmarks (iBUG/300-W order) behind one interface, with three backends.

    backend = make_backend("auto", device="cpu")      # face-alignment when its weights are present, else offline
    points = backend.detect(frame)                    # (68, 2) float32 (x, y) pixels of `frame`, or None (no face)
    for points in backend.detect_video(frames): ...   # one result per frame, in order

Backends (``BACKENDS``):

* ``face-alignment`` — the standard one (2D-FAN-4 + S3FD of the pinned face-alignment 1.5.0), what the DaGAN
  authors' demo uses. Its two weight files are the manifest entries ``face_alignment_2dfan4`` and
  ``face_alignment_s3fd`` (checkpoints/ or torch.hub's cache); both are located *before* face-alignment is built and
  handed to it directly, so it never tries to download (a missing file is a WeightsError naming it, never a hang).
* ``offline`` — needs no downloaded weights: OpenCV's bundled Haar cascades find the face box and the two eyes, and a
  fixed mean-shape template of 68 points (drawn from simple geometry, see ``mean_shape``) is fitted to them by an
  affine map (eye centres + the bottom centre of the face box). **Limits**: it sees face position, size, in-plane
  rotation and — through where the eyes sit in the face box — a coarse yaw/pitch; it does not see expression (mouth,
  eyelids) and is far less precise than a landmark network. When the eyes are not found the template is fitted to
  the face box alone (scale and position only). Good enough to choose a driving frame by head pose; not for metrics
  such as AKD.
* ``openface-csv`` — landmarks computed elsewhere by OpenFace (``FeatureExtraction`` / ``FaceLandmarkImg``): columns
  ``x_0..x_67``, ``y_0..y_67`` (leading spaces in OpenFace's header are fine), optional ``frame``, ``face_id`` and
  ``success``. ``detect_video`` yields the rows of the video CSV by frame number (pixels ignored); ``detect`` (a
  still image) takes the first successful row of the image CSV.
"""
from __future__ import annotations

import csv
import logging
import os
import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from talkingface.errors import KitError, WeightsError

BACKENDS = ("auto", "face-alignment", "offline", "openface-csv")
NUM_POINTS = 68


class LandmarkBackend(ABC):
    """Finds 68 landmarks of the (largest / first) face of an RGB uint8 frame."""

    name = "base"

    @abstractmethod
    def detect(self, frame: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 RGB -> (68, 2) float32 array of (x, y) pixel positions, or None when no face is found."""

    def detect_video(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray | None]:
        """One :meth:`detect` result per frame, in order."""
        for frame in frames:
            yield self.detect(frame)


# --------------------------------------------------------------------------------------------- face-alignment
class FaceAlignmentBackend(LandmarkBackend):
    """face-alignment's 2D-FAN-4 with its S3FD detector, built from local weight files only."""

    name = "face-alignment"

    def __init__(self, device: str = "cpu", fan_weights: str | os.PathLike | None = None,
                 detector_weights: str | os.PathLike | None = None, flip_input: bool = True):
        from talkingface.weights import load_torch, weight_path

        fan = Path(fan_weights) if fan_weights else weight_path("face_alignment_2dfan4")
        s3fd = Path(detector_weights) if detector_weights else weight_path("face_alignment_s3fd")
        for path in (fan, s3fd):
            if not path.is_file():
                raise WeightsError(f"weights missing: {path}, see `python -m talkingface weights status`")
        try:
            import face_alignment
            from face_alignment.models import FAN
        except ImportError:
            raise KitError("the face-alignment landmark backend needs the face-alignment package "
                           "(pip install talkingface-kit[dagan]); or use --landmarks offline") from None
        if not hasattr(face_alignment.FaceAlignment, "_load_native"):  # we hand it the located file this way
            raise KitError(f"face-alignment {getattr(face_alignment, '__version__', '?')} is not supported (the kit "
                           f"pins 1.5.0); or use --landmarks offline")
        fan_state = load_torch(fan, map_location="cpu")
        load_torch(s3fd, map_location="cpu")  # a damaged detector file fails here with a clear message

        class _LocalFaceAlignment(face_alignment.FaceAlignment):
            def _load_native(self, network_name, network_size, device, dtype):  # the file we located, no URL
                net = FAN(network_size)
                try:
                    net.load_state_dict(fan_state)
                except RuntimeError as exc:
                    raise WeightsError(f"{fan}: not a 2D-FAN-4 state dict ({str(exc).splitlines()[0]})") from None
                return net.to(device, dtype=dtype).eval()

        try:
            self.fa = _LocalFaceAlignment(face_alignment.LandmarksType.TWO_D, device=str(device),
                                          flip_input=flip_input, face_detector="sfd",
                                          face_detector_kwargs={"path_to_detector": str(s3fd)}, compile=False)
        except RuntimeError as exc:
            raise WeightsError(f"{s3fd}: not an S3FD state dict ({str(exc).splitlines()[0]})") from None

    def detect(self, frame: np.ndarray) -> np.ndarray | None:
        frame = np.ascontiguousarray(frame[..., :3])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # face-alignment warns on every frame without a face
            result = self.fa.get_landmarks_from_image(frame, return_bboxes=True)
        points, boxes = result[0], result[1]
        if not points:
            return None
        areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes] if boxes is not None else [0]
        return np.asarray(points[int(np.argmax(areas))][:, :2], dtype=np.float32)


# ------------------------------------------------------------------------------------------------------ offline
def mean_shape() -> np.ndarray:
    """A 68-point frontal face template in face-box units (x, y in [0, 1], y down), iBUG order.

    Drawn from simple geometry (an elliptic jaw, arched brows, almond eyes, lips), not learnt from data; only its
    layout matters for the offline backend, whose fit carries the information.
    """
    t = np.linspace(0, np.pi, 17)
    jaw = np.stack([0.5 - 0.5 * np.cos(t), 0.30 + 0.70 * np.sin(t)], 1)                        # 0-16
    s = np.linspace(0, 1, 5)
    brow_r = np.stack([0.12 + 0.30 * s, 0.20 - 0.05 * np.sin(np.pi * s)], 1)                    # 17-21
    brow_l = np.stack([0.58 + 0.30 * s, 0.20 - 0.05 * np.sin(np.pi * s)], 1)                    # 22-26
    bridge = np.stack([np.full(4, 0.5), np.linspace(0.30, 0.55, 4)], 1)                         # 27-30
    nostrils = np.array([[0.40, 0.60], [0.45, 0.62], [0.50, 0.63], [0.55, 0.62], [0.60, 0.60]])  # 31-35
    eye = np.array([[-0.09, 0], [-0.03, -0.03], [0.03, -0.03], [0.09, 0], [0.03, 0.03], [-0.03, 0.03]])
    eye_r = eye + [0.30, 0.33]                                                                   # 36-41
    eye_l = eye + [0.70, 0.33]                                                                   # 42-47
    lips_out = np.array([[0.35, 0.78], [0.40, 0.75], [0.45, 0.73], [0.50, 0.74], [0.55, 0.73], [0.60, 0.75],
                         [0.65, 0.78], [0.60, 0.82], [0.55, 0.84], [0.50, 0.845], [0.45, 0.84], [0.40, 0.82]])
    lips_in = np.array([[0.37, 0.78], [0.45, 0.77], [0.50, 0.775], [0.55, 0.77], [0.63, 0.78], [0.55, 0.79],
                        [0.50, 0.795], [0.45, 0.79]])                                            # 60-67
    return np.concatenate([jaw, brow_r, brow_l, bridge, nostrils, eye_r, eye_l, lips_out, lips_in]).astype(np.float32)


class OfflineBackend(LandmarkBackend):
    """Haar face + eye boxes with a fitted mean shape (see the module docstring for what it can and cannot see)."""

    name = "offline"
    WORK_SIZE = 256  # frames are scaled so their shorter side has this many pixels before detection

    def __init__(self):
        import cv2

        root = getattr(getattr(cv2, "data", None), "haarcascades", None)
        if not root:
            raise KitError("the offline landmark backend needs OpenCV's bundled Haar cascades (cv2.data, OpenCV 4.x "
                           "wheels); install opencv-python-headless 4.x")
        self._cv2 = cv2
        self.face = cv2.CascadeClassifier(os.path.join(root, "haarcascade_frontalface_default.xml"))
        self.eye = cv2.CascadeClassifier(os.path.join(root, "haarcascade_eye.xml"))
        if self.face.empty() or self.eye.empty():
            raise KitError(f"cannot load OpenCV's Haar cascades from {root}")
        self.template = mean_shape()
        eyes = self.template[36:48].reshape(2, 6, 2).mean(axis=1)
        self._anchors = np.array([eyes[0], eyes[1], [0.5, 1.0]], dtype=np.float64)  # right eye, left eye, box bottom

    def _eyes(self, gray: np.ndarray, box) -> tuple[np.ndarray, np.ndarray] | None:
        """Centres of the image-left and image-right eye in ``gray`` coordinates, or None unless both are found."""
        x, y, w, h = box
        roi = gray[y:y + int(h * 0.6), x:x + w]
        found = self.eye.detectMultiScale(roi, 1.03, 2, minSize=(w // 8, w // 8), maxSize=(w // 3, w // 3))
        picked = []
        for side, expect in ((0, 0.30), (1, 0.70)):
            best = None
            for ex, ey, ew, eh in np.asarray(found).reshape(-1, 4):
                cx, cy = ex + ew / 2, ey + eh / 2
                if (cx >= w / 2) != bool(side):
                    continue
                miss = (cx / w - expect) ** 2 + (cy / h - 0.35) ** 2
                if best is None or miss < best[0]:
                    best = (miss, np.array([x + cx, y + cy]))
            if best is None:
                return None
            picked.append(best[1])
        return picked[0], picked[1]

    def detect(self, frame: np.ndarray) -> np.ndarray | None:
        cv2 = self._cv2
        frame = np.asarray(frame)
        scale = self.WORK_SIZE / min(frame.shape[:2])
        small = cv2.resize(frame, (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY) if small.ndim == 3 else small
        faces = self.face.detectMultiScale(gray, 1.1, 5, minSize=(self.WORK_SIZE // 6,) * 2)
        if len(faces) == 0:
            return None
        x, y, w, h = max(np.asarray(faces).reshape(-1, 4).tolist(), key=lambda b: b[2] * b[3])
        eyes = self._eyes(gray, (x, y, w, h))
        if eyes is None:  # box only: scale and position
            points = self.template * [w, h] + [x, y]
        else:
            target = np.array([eyes[0], eyes[1], [x + w / 2, y + h]], dtype=np.float64)
            src = np.hstack([self._anchors, np.ones((3, 1))])
            affine = np.linalg.solve(src, target)                      # (3, 2): [x y 1] @ affine
            points = np.hstack([self.template, np.ones((NUM_POINTS, 1))]) @ affine
        return (points / scale).astype(np.float32)


# ------------------------------------------------------------------------------------------------- openface-csv
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


# -------------------------------------------------------------------------------------------------------- make
def make_backend(name: str = "auto", device: str = "cpu", csv_path: str | os.PathLike | None = None,
                 image_csv_path: str | os.PathLike | None = None) -> LandmarkBackend:
    """Build backend ``name`` (one of BACKENDS). ``auto``: face-alignment when both of its weight files are found
    (and the package is installed), otherwise ``offline`` with a warning saying why."""
    if name == "face-alignment":
        return FaceAlignmentBackend(device=device)
    if name == "offline":
        return OfflineBackend()
    if name == "openface-csv":
        return OpenFaceCSVBackend(csv_path, image_csv_path)
    if name == "auto":
        try:
            return FaceAlignmentBackend(device=device)
        except KitError as exc:
            logging.getLogger(__name__).warning(
                "face-alignment landmarks unavailable (%s); using the offline backend (Haar face and eyes + mean "
                "shape: head pose only, no expression)", exc)
            return OfflineBackend()
    raise KitError(f"unknown landmark backend {name!r}; choose one of {', '.join(BACKENDS)}")


def normalize_landmarks(points: np.ndarray) -> np.ndarray | None:
    """The DaGAN/FOMM demo's normalisation: centre the points, divide by sqrt of their convex hull's area
    (None for degenerate points with no area)."""
    from scipy.spatial import ConvexHull, QhullError

    points = np.asarray(points, dtype=np.float64)[:, :2]
    centred = points - points.mean(axis=0, keepdims=True)
    try:
        area = ConvexHull(centred).volume
    except QhullError:
        return None
    return centred / np.sqrt(area) if area > 0 else None
