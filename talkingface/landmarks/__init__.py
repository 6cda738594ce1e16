"""68-point face landmarks (iBUG/300-W order) behind one interface, with three backends.

    backend = make_backend("auto", device="cpu")      # face-alignment when its weights are present, else offline
    points = backend.detect(frame)                    # (68, 2) float32 (x, y) pixels of `frame`, or None (no face)
    for points in backend.detect_video(frames): ...   # one result per frame, in order
    face = backend.detect_face(frame)                 # Face(points, box) or None: box = (left, top, right, bottom)
    for face in backend.detect_faces(frames): ...

The face box follows the convention of S3FD's boxes, the detector the VoxCeleb crops were made with (the face crop,
``talkingface.faces``, builds on it): face-alignment reports S3FD's own box, offline its Haar box enlarged by
``offline.BOX_SCALE``, openface-csv the landmarks' extent raised by a forehead (``base.landmark_box``).

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

import logging
import os

from talkingface.errors import KitError
from talkingface.landmarks.base import NUM_POINTS, Face, LandmarkBackend, landmark_box, normalize_landmarks

BACKENDS = ("auto", "face-alignment", "offline", "openface-csv")

__all__ = ["BACKENDS", "NUM_POINTS", "Face", "LandmarkBackend", "landmark_box", "make_backend", "normalize_landmarks"]


def make_backend(name: str = "auto", device: str = "cpu", csv_path: str | os.PathLike | None = None,
                 image_csv_path: str | os.PathLike | None = None) -> LandmarkBackend:
    """Build backend ``name`` (one of BACKENDS). ``auto``: face-alignment when both of its weight files are found
    (and the package is installed), otherwise ``offline`` with a warning saying why."""
    if name == "face-alignment":
        from talkingface.landmarks.face_alignment import FaceAlignmentBackend

        return FaceAlignmentBackend(device=device)
    if name == "offline":
        from talkingface.landmarks.offline import OfflineBackend

        return OfflineBackend()
    if name == "openface-csv":
        from talkingface.landmarks.openface import OpenFaceCSVBackend

        return OpenFaceCSVBackend(csv_path, image_csv_path)
    if name == "auto":
        try:
            return make_backend("face-alignment", device)
        except KitError as exc:
            logging.getLogger(__name__).warning(
                "face-alignment landmarks unavailable (%s); using the offline backend (Haar face and eyes + mean "
                "shape: head pose only, no expression)", exc)
            return make_backend("offline")
    raise KitError(f"unknown landmark backend {name!r}; choose one of {', '.join(BACKENDS)}")
