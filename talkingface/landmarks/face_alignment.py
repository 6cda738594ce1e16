"""The ``face-alignment`` landmark backend: 2D-FAN-4 + S3FD of the pinned face-alignment 1.5.0, what the DaGAN
authors' demo uses, built from the manifest's local weight files only (never a download)."""
from __future__ import annotations

import os
import warnings

import numpy as np

from talkingface.errors import KitError, WeightsError
from talkingface.landmarks.base import DetectorBackend, Face, landmark_box


class FaceAlignmentBackend(DetectorBackend):
    """face-alignment's 2D-FAN-4 with its S3FD detector, built from local weight files only."""

    name = "face-alignment"

    def __init__(self, device: str = "cpu", fan_weights: str | os.PathLike | None = None,
                 detector_weights: str | os.PathLike | None = None, flip_input: bool = True):
        from talkingface.weights import load_torch, resolve_weights

        fan = resolve_weights("face_alignment_2dfan4", fan_weights)
        s3fd = resolve_weights("face_alignment_s3fd", detector_weights)
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

    def detect_face(self, frame: np.ndarray) -> Face | None:
        """Landmarks of the largest face and its S3FD box (the detector the VoxCeleb crops were made with)."""
        frame = np.ascontiguousarray(frame[..., :3])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # face-alignment warns on every frame without a face
            result = self.fa.get_landmarks_from_image(frame, return_bboxes=True)
        points, boxes = result[0], result[2]          # (landmarks, scores, detected faces)
        if not points:
            return None
        areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes] if boxes is not None else [0]
        best = int(np.argmax(areas))
        found = np.asarray(points[best][:, :2], dtype=np.float32)
        box = np.asarray(boxes[best][:4], np.float64) if boxes is not None else landmark_box(found)
        return Face(found, box)
