"""AKD (FOMM pose-evaluation) equals the authors' extract.py + cmp_kp.py, run on the same formula weights and frames
(tests/data/golden/akd.json, made by scripts/golden_pose_evaluation_akd.py); and the protocol details matter: first
face (not the largest), flip_input False, mean |coordinate difference| (not Euclidean), 256-px units."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _akd_fixtures import akd_inputs, sha256_of, write_face_alignment_files

from talkingface.errors import WeightsError
from talkingface.metrics import NotComputable, create_metric
from talkingface.metrics.akd import akd, keypoint_distance

pytest.importorskip("face_alignment")
GOLDEN_DIR = Path(__file__).resolve().parents[1] / "data" / "golden"
GOLDEN = json.loads((GOLDEN_DIR / "akd.json").read_text(encoding="utf-8"))
RTOL = 1e-5


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    found, digest = write_face_alignment_files(tmp_path_factory.mktemp("akd_weights"))
    assert digest == GOLDEN["weights_sha256"], "the weight formula changed: regenerate tests/data/golden/akd.*"
    return found


@pytest.fixture(scope="module")
def metric(files):
    return create_metric("akd", fan_weights=files["fan"], detector_weights=files["s3fd"])


@pytest.fixture(scope="module")
def golden_npz() -> dict:
    with np.load(GOLDEN_DIR / "akd.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def kit(metric) -> dict:
    """The kit on the golden's inputs: {video: (values, generated landmarks, reference landmarks)}."""
    out = {}
    for video, (gt, gen) in akd_inputs().items():
        sha = GOLDEN["videos"][video]["input_sha256"]
        assert (sha256_of(gt), sha256_of(gen)) == (sha["gt"], sha["gen"]), f"{video}: inputs differ from the golden's"
        out[video] = metric.compute(gen, gt)
    return out


def test_equals_the_authors_pose_evaluation(kit, golden_npz, metric):
    assert metric.skip_reason == "no face found" and metric.spec.name == "akd"
    for video, doc in GOLDEN["videos"].items():
        values, kp_gen, kp_gt = kit[video]
        scale = doc["kit_scale"]                    # the authors' pixels -> pixels of a 256x256 frame
        expected = np.array(doc["authors_per_frame"], dtype=np.float64) * scale
        np.testing.assert_array_equal(np.isnan(values), np.isnan(expected))
        np.testing.assert_allclose(values, expected, rtol=RTOL, equal_nan=True)
        assert np.nanmean(values) == pytest.approx(doc["authors_mean"] * scale, rel=RTOL)
        for side, kp in (("gt", kp_gt), ("gen", kp_gen)):
            ref = golden_npz[f"{video}/landmarks_{side}"].astype(np.float64) * scale
            has = ~np.isnan(values)                 # the kit skips FAN on both sides of a pair without a face
            np.testing.assert_allclose(kp[has], ref[has], rtol=RTOL, atol=1e-4)
    assert np.isnan(kit["v256"][0][2])             # the flat grey generated frame: no face, NaN


def test_protocol_slips_change_the_value(kit, metric):
    values, kp_gen, kp_gt = kit["v256"]
    far = 1e3 * RTOL
    euclid = np.linalg.norm(kp_gt - kp_gen, axis=-1).mean(axis=1)
    assert not np.allclose(euclid[:2], values[:2], rtol=far)
    v512, gen512, gt512 = kit["v512"]
    scale = GOLDEN["videos"]["v512"]["kit_scale"]
    unscaled = keypoint_distance(gen512 / scale, gt512 / scale)      # 512-px units
    assert not np.allclose(unscaled, v512, rtol=far)
    gt_frame = akd_inputs()["v512"][0][0]
    boxes = metric.detect(gt_frame)                 # the ground truth's first S3FD face is not its largest
    largest = int(np.argmax([(b[2] - b[0]) * (b[3] - b[1]) for b in boxes]))
    assert largest != 0
    kp = metric.fa.get_landmarks_from_image(np.ascontiguousarray(gt_frame), detected_faces=[boxes[largest]])[0]
    assert not np.allclose(keypoint_distance(gen512, kp[None] * scale), v512, rtol=far)
    gen0 = akd_inputs()["v256"][1][0]
    metric.fa.flip_input = True
    try:
        flipped = metric.first_face_landmarks(gen0).astype(np.float64)
    finally:
        metric.fa.flip_input = False
    assert not np.allclose(keypoint_distance(flipped[None], kp_gt[:1]), values[:1], rtol=far)


def test_frames_without_a_face_are_nan(metric, files):
    face, grey = akd_inputs()["v256"][0][0], np.full((256, 256, 3), 128, np.uint8)
    values = metric(np.stack([face, grey]), np.stack([grey, face]))
    assert values.shape == (2,) and np.isnan(values).all()
    with pytest.raises(NotComputable, match="no face"):
        akd(grey, grey, fan_weights=files["fan"], detector_weights=files["s3fd"])


def test_missing_weights_name_the_file(files, tmp_path):
    with pytest.raises(WeightsError, match="no_fan.pth.tar"):
        create_metric("akd", fan_weights=tmp_path / "no_fan.pth.tar", detector_weights=files["s3fd"])
    with pytest.raises(WeightsError, match="no_s3fd.pth"):
        create_metric("akd", fan_weights=files["fan"], detector_weights=tmp_path / "no_s3fd.pth")
