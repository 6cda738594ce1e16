"""Landmark backends: offline (Haar + mean shape) on a real photo, OpenFace CSV import, face-alignment from local
files only (random weights made here), and the authors' normalisation."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from talkingface.errors import KitError, WeightsError
from talkingface.landmarks import make_backend, normalize_landmarks
from talkingface.landmarks.face_alignment import FaceAlignmentBackend
from talkingface.landmarks.offline import OfflineBackend, mean_shape
from talkingface.landmarks.openface import OpenFaceCSVBackend, read_openface_csv


def astronaut_head(angle: float = 0.0, scale: float = 1.0, shift=(0, 0)) -> np.ndarray:
    """scikit-image's bundled astronaut photo, head and shoulders, rotated/scaled about the centre."""
    import cv2
    from skimage.data import astronaut

    face = astronaut()[0:260, 110:370]
    h, w = face.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[:, 2] += shift
    return cv2.warpAffine(face, m, (w, h), borderMode=cv2.BORDER_REFLECT)


def test_mean_shape_layout():
    shape = mean_shape()
    assert shape.shape == (68, 2) and shape.dtype == np.float32
    assert shape.min() >= 0 and shape.max() <= 1
    # iBUG order: image-left eye (36-41) left of the image-right eye (42-47); chin (8) lowest; nose tip centred
    assert shape[36:42, 0].max() < shape[42:48, 0].min()
    assert shape[8, 1] == shape[:, 1].max()
    assert shape[30, 0] == pytest.approx(0.5)


def test_offline_backend_follows_the_head():
    backend = OfflineBackend()
    upright, tilted = backend.detect(astronaut_head(0)), backend.detect(astronaut_head(12))
    assert upright.shape == (68, 2) and upright.dtype == np.float32
    # eyes (36 outer corner image-left, 45 outer corner image-right) are found on the face, near level when upright
    left, right = upright[36:42].mean(0), upright[42:48].mean(0)
    assert 40 < left[0] < right[0] < 220 and abs(left[1] - right[1]) < 12
    # rotating the photo counter-clockwise by 12 degrees tilts the fitted eye line by about as much
    l2, r2 = tilted[36:42].mean(0), tilted[42:48].mean(0)
    tilt = np.degrees(np.arctan2(-(r2[1] - l2[1]), r2[0] - l2[0])) - np.degrees(
        np.arctan2(-(right[1] - left[1]), right[0] - left[0]))
    assert 6 < tilt < 18


def test_offline_backend_no_face_and_coordinates_follow_resizing():
    import cv2

    backend = OfflineBackend()
    assert backend.detect(np.full((200, 300, 3), 128, np.uint8)) is None
    head = astronaut_head(0)
    big = cv2.resize(head, (head.shape[1] * 2, head.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    small_points, big_points = backend.detect(head), backend.detect(big)
    assert np.abs(big_points / 2 - small_points).max() < 6   # pixels of the original frame, whatever its size


def test_find_best_frame_with_the_offline_backend_on_a_photo():
    """dagan.pipeline.find_best_frame (the authors' rule) with the offline backend picks the frame of the same head
    tilt, whatever the source's size, position and scale; frames without a face are skipped."""
    import cv2

    from dagan.pipeline import find_best_frame

    backend = OfflineBackend()
    driving = [astronaut_head(-12), np.full((260, 260, 3), 120, np.uint8), astronaut_head(0), astronaut_head(12)]
    tilted = cv2.resize(astronaut_head(12, 0.9, (8, -6)), (300, 300))
    assert find_best_frame(tilted, driving, backend) == 3
    assert find_best_frame(astronaut_head(-12, 1.1, (-5, 4)), driving, backend) == 0
    assert find_best_frame(np.full((100, 100, 3), 128, np.uint8), driving, backend) is None


def test_normalize_landmarks_removes_position_and_scale():
    shape = mean_shape().astype(np.float64)
    a = normalize_landmarks(shape * 100 + [10, 20])
    b = normalize_landmarks(shape * 37 + [300, -5])
    np.testing.assert_allclose(a, b, atol=1e-9)
    assert abs(a.mean(0)).max() < 1e-9
    from scipy.spatial import ConvexHull

    assert ConvexHull(a).volume == pytest.approx(1.0)
    assert normalize_landmarks(np.zeros((68, 2))) is None     # degenerate: no area


def write_openface_csv(path, frames):
    """An OpenFace FeatureExtraction-style CSV (', '-separated header) with the given {frame: (points, success)}."""
    header = ["frame", " face_id", " timestamp", " confidence", " success"]
    header += [f" x_{i}" for i in range(68)] + [f" y_{i}" for i in range(68)]
    lines = [",".join(header)]
    for frame, (points, ok) in frames.items():
        row = [str(frame), "0", f"{(frame - 1) / 25:.3f}", "0.98", "1" if ok else "0"]
        row += [f"{v:.3f}" for v in points[:, 0]] + [f"{v:.3f}" for v in points[:, 1]]
        lines.append(", ".join(row))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_openface_csv_import(tmp_path):
    shape = mean_shape() * 100
    video_csv = write_openface_csv(tmp_path / "video.csv", {1: (shape, True), 2: (shape + 5, False),
                                                             3: (shape * 2, True)})
    table = read_openface_csv(video_csv)
    assert sorted(table) == [0, 1, 2] and table[1] is None
    np.testing.assert_allclose(table[2], shape * 2, atol=1e-3)
    image_csv = write_openface_csv(tmp_path / "image.csv", {1: (shape + 1, True)})
    backend = OpenFaceCSVBackend(video_csv, image_csv)
    frames = [np.zeros((4, 4, 3), np.uint8)] * 4                     # pixels are ignored; frame 3 is not in the CSV
    got = list(backend.detect_video(frames))
    assert got[1] is None and got[3] is None and got[0].shape == (68, 2)
    np.testing.assert_allclose(backend.detect(frames[0]), shape + 1, atol=1e-3)


def test_openface_csv_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("frame,x_0,y_0\n1,2,3\n")
    with pytest.raises(KitError, match="x_1"):
        read_openface_csv(bad)
    with pytest.raises(KitError, match="not found"):
        read_openface_csv(tmp_path / "missing.csv")
    only_video = OpenFaceCSVBackend(write_openface_csv(tmp_path / "v.csv", {1: (mean_shape(), True)}))
    with pytest.raises(KitError, match="source_landmarks_csv"):
        only_video.detect(np.zeros((4, 4, 3), np.uint8))


def test_face_alignment_missing_weights_is_a_clear_error(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TALKINGFACE_CHECKPOINTS", str(tmp_path / "ckpt"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsError, match="2DFAN4"):
        FaceAlignmentBackend(device="cpu")
    with caplog.at_level(logging.WARNING, logger="talkingface"):
        backend = make_backend("auto")
    assert isinstance(backend, OfflineBackend)
    assert "offline backend" in caplog.text
    assert not (tmp_path / "torch").exists()          # nothing tried to download into torch.hub's cache
    with pytest.raises(KitError, match="unknown landmark backend"):
        make_backend("dlib")


@pytest.mark.slow
def test_face_alignment_builds_from_local_files_only(tmp_path, monkeypatch):
    """Random 2D-FAN-4 and S3FD weights saved here (S3FD's scores set to 'background' everywhere): the backend is
    built from these files without touching torch.hub's cache, and a frame without a face box gives None. (Running
    FAN itself costs ~20 s of CPU, so no test here does.)"""
    import torch
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.save(FAN(4).state_dict(), tmp_path / "fan.pth.tar")
    det = s3fd()
    with torch.no_grad():
        for name, module in det.named_children():
            if name.endswith("mbox_conf"):
                module.weight.zero_()
                module.bias.fill_(10.0)
                module.bias[-1] = -10.0        # the face class
    torch.save(det.state_dict(), tmp_path / "s3fd.pth")

    backend = FaceAlignmentBackend("cpu", tmp_path / "fan.pth.tar", tmp_path / "s3fd.pth", flip_input=False)
    assert backend.detect(np.full((128, 128, 3), 90, np.uint8)) is None
    assert not (tmp_path / "torch").exists()
    with pytest.raises(WeightsError, match="2D-FAN-4"):
        FaceAlignmentBackend("cpu", tmp_path / "s3fd.pth", tmp_path / "s3fd.pth")


def test_face_alignment_reports_the_largest_face_with_its_s3fd_box():
    """detect_face / detect take the largest detected face, and detect_face its S3FD box (get_landmarks_from_image
    returns (landmarks, scores, boxes)); built without weights, the detector answers are given."""
    from talkingface.landmarks import Face

    small, large = np.zeros((68, 2), np.float32), np.ones((68, 2), np.float32)

    class FakeFA:
        def get_landmarks_from_image(self, frame, return_bboxes=False):
            assert return_bboxes
            return [small, large], None, [np.array([0, 0, 10, 10, 0.9]), np.array([5, 5, 45, 55, 0.99])]

    backend = FaceAlignmentBackend.__new__(FaceAlignmentBackend)
    backend.fa = FakeFA()
    face = backend.detect_face(np.zeros((64, 64, 3), np.uint8))
    assert isinstance(face, Face) and (face.points == 1).all()
    np.testing.assert_array_equal(face.box, [5, 5, 45, 55])
    np.testing.assert_array_equal(backend.detect(np.zeros((64, 64, 3), np.uint8)), large)
    assert [f.box[2] for f in backend.detect_faces([np.zeros((8, 8, 3), np.uint8)] * 2)] == [45, 45]


def test_face_boxes_of_the_offline_and_landmark_only_backends():
    """offline: the Haar box enlarged by BOX_SCALE (square, around the fitted landmarks); a landmark-only backend:
    the landmarks' extent with a forehead (FOREHEAD landmark heights) above."""
    from talkingface.landmarks import landmark_box
    from talkingface.landmarks.base import FOREHEAD

    face = OfflineBackend().detect_face(astronaut_head(0))
    left, top, right, bot = face.box
    assert right - left == pytest.approx(bot - top)
    assert left < face.points[:, 0].min() + 5 and right > face.points[:, 0].max() - 5
    points = np.array([[10, 20], [50, 20], [30, 70]] + [[30, 40]] * 65, np.float32)
    np.testing.assert_allclose(landmark_box(points), [10, 20 - FOREHEAD * 50, 50, 70])
