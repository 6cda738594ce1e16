"""The ``offline`` landmark backend: OpenCV's bundled Haar cascades (face box, eyes) fit a 68-point mean shape.

Needs no downloaded weights. It sees head position, size, in-plane rotation and a coarse yaw/pitch, not expression:
good enough to choose a driving frame by head pose, not for metrics such as AKD. Faces smaller than a sixth of the
frame's shorter side are not looked for.

Its face box (:meth:`OfflineBackend.detect_face`) is the Haar box enlarged by :data:`BOX_SCALE` about its centre, to
stand in for the S3FD box the VoxCeleb crops were made from (docs/face_crop.md: with it, the crop rule re-crops the
DaGAN authors' VoxCeleb driving clip to its own frame).
"""
from __future__ import annotations

import os

import numpy as np

from talkingface.errors import KitError
from talkingface.landmarks.base import NUM_POINTS, DetectorBackend, Face

#: Haar face box -> S3FD-like box: measured so that the union of the Haar boxes of the DaGAN authors' VoxCeleb
#: driving clip (40,46)-(226,213) in 256x256, enlarged by 1.2 (the crop rule), gives the clip's own 256-px side
BOX_SCALE = 1.15


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


class OfflineBackend(DetectorBackend):
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

    def detect_face(self, frame: np.ndarray) -> Face | None:
        """Landmarks (the fitted mean shape) and the Haar box enlarged by BOX_SCALE, in ``frame``'s pixels."""
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
        cx, cy, half = x + w / 2, y + h / 2, BOX_SCALE * max(w, h) / 2
        box = np.array([cx - half, cy - half, cx + half, cy + half]) / scale
        return Face((points / scale).astype(np.float32), box)
