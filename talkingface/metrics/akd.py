"""AKD, the average keypoint distance of FOMM's pose-evaluation (AliaksandrSiarohin/pose-evaluation), per frame.

The authors' protocol (``extract.py --type face_pose`` then ``cmp_kp.py``):

* ``extract_face_pose``: ``face_alignment.FaceAlignment(LandmarksType._2D, flip_input=False)`` (2D-FAN-4 with the
  S3FD detector); per frame (uint8 RGB, 256x256) ``kp = fa.get_landmarks(frame)`` and ``kp[0]``: the landmarks of
  the FIRST face S3FD returns (the highest score after NMS), not the largest; ``None`` when no face is found;
* ``cmp_kp.py``: frames paired by (file, frame); per frame ``np.mean(np.abs(gt - gen))`` over the 68x2 coordinates
  (a mean absolute coordinate difference, not a Euclidean distance); frames whose generated side has no face are
  skipped; AKD is the mean over all remaining frames.

Here, with the kit's pinned face-alignment 1.5.0 (``LandmarksType.TWO_D``, the new name of ``_2D``) built from the
manifest's local files only (:class:`talkingface.landmarks.face_alignment.FaceAlignmentBackend`, never a download):
``m(generated, reference) -> (N,)`` float64, one value per frame pair, NaN when either side has no face (the
authors' code skips a missing generated face and fails on a missing ground-truth face). Frames of any size are
scored: the landmarks are scaled to a 256x256 frame (x * 256 / W, y * 256 / H), so values are pixels at 256²
(identical to the authors' numbers at 256²). Only the first face's crop goes through FAN (S3FD runs on every frame,
FAN only where both sides have a face): the landmarks equal ``get_landmarks(frame)[0]``, which runs FAN on every
detected face one at a time and keeps the first.
"""
from __future__ import annotations

import warnings

import numpy as np

from talkingface.errors import KitError
from talkingface.metrics.base import MetricSpec, NotComputable, as_uint8_batch, check_pair
from talkingface.metrics.protocols import SPECS

#: the frame size the authors ran at; landmark coordinates are reported in pixels of a frame of this size
PROTOCOL_SIZE = 256
N_LANDMARKS = 68


def keypoint_distance(generated_kp: np.ndarray, reference_kp: np.ndarray) -> np.ndarray:
    """cmp_kp.py's per-frame value for (N,68,2) landmark arrays: the mean |difference| over the 136 coordinates;
    NaN where either side is NaN (no face)."""
    gen = np.asarray(generated_kp, dtype=np.float64)
    ref = np.asarray(reference_kp, dtype=np.float64)
    if gen.shape != ref.shape or gen.ndim != 3:
        raise KitError(f"akd: landmark arrays {gen.shape} and {ref.shape} must both be (N, 68, 2)")
    return np.abs(ref - gen).reshape(len(gen), -1).mean(axis=1)


class AkdMetric:
    """Registry object: ``m(generated, reference) -> (N,)`` AKD per frame pair (NaN: no face on a side)."""

    skip_reason = "no face found"

    def __init__(self, spec: MetricSpec, device: str = "cpu", fan_weights=None, detector_weights=None):
        from talkingface.landmarks.face_alignment import FaceAlignmentBackend

        self.spec, self.device = spec, str(device)
        # the kit's face-alignment loader: the manifest's (or the given) files, WeightsError naming a missing one
        self.fa = FaceAlignmentBackend(device=self.device, fan_weights=fan_weights,
                                       detector_weights=detector_weights, flip_input=False).fa

    def detect(self, frame: np.ndarray) -> list:
        """S3FD's boxes for one (H,W,3) uint8 RGB frame, in face-alignment's order (x1, y1, x2, y2, score)."""
        image = np.ascontiguousarray(frame)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(self.fa.face_detector.detect_from_image(image.copy()))

    def first_face_landmarks(self, frame: np.ndarray, boxes: list | None = None) -> np.ndarray | None:
        """``fa.get_landmarks(frame)[0]`` as (68,2) float32 in the frame's pixels, or None without a face
        (``boxes``: this frame's :meth:`detect` result, to avoid running S3FD twice)."""
        image = np.ascontiguousarray(frame)
        boxes = self.detect(image) if boxes is None else boxes
        if not boxes:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            points = self.fa.get_landmarks_from_image(image, detected_faces=[boxes[0]])
        return np.asarray(points[0][:, :2], dtype=np.float32)

    def compute(self, generated, reference) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values (N,), generated landmarks (N,68,2), reference landmarks (N,68,2)); landmarks in pixels of a
        256x256 frame, float64, NaN for a frame without a face (FAN is skipped on both sides of such a pair)."""
        a = as_uint8_batch(generated, "akd generated")
        b = as_uint8_batch(reference, "akd reference")
        check_pair(a, b)
        n, h, w = a.shape[:3]
        scale = np.array([PROTOCOL_SIZE / w, PROTOCOL_SIZE / h])
        kps = np.full((2, n, N_LANDMARKS, 2), np.nan)
        for i in range(n):
            boxes = [self.detect(a[i]), self.detect(b[i])]
            if not (boxes[0] and boxes[1]):
                continue
            for side, frames in enumerate((a, b)):
                kps[side, i] = self.first_face_landmarks(frames[i], boxes[side]).astype(np.float64) * scale
        return keypoint_distance(kps[0], kps[1]), kps[0], kps[1]

    def __call__(self, generated, reference=None) -> np.ndarray:
        if reference is None:
            raise KitError("akd needs a reference batch (full-reference metric)")
        return self.compute(generated, reference)[0]


def akd(generated, reference, fan_weights=None, detector_weights=None, device: str = "cpu") -> float:
    """AKD of two (N,H,W,3) (or single (H,W,3)) uint8 RGB batches: the mean over frame pairs with a face on both
    sides, in pixels of a 256x256 frame (builds the networks each call). NotComputable when no pair has faces."""
    metric = AkdMetric(SPECS["akd"], device=device, fan_weights=fan_weights, detector_weights=detector_weights)
    values = metric(generated, reference)
    if np.isnan(values).all():
        raise NotComputable(f"akd: no face found in any of the {len(values)} frame pairs")
    return float(np.nanmean(values))


__all__ = ["akd", "AkdMetric", "keypoint_distance", "PROTOCOL_SIZE"]
