"""The kit's DaGAN against the authors' own code: tests/data/golden/dagan.* (scripts/make_golden.py) on formula weights.

The weights come from tests/golden_weights.py (the formula make_golden.py used; its digest is checked), written in
the authors' file formats and loaded through ``dagan.load_model``. The inputs are the golden's: the source is a slice
of skimage's astronaut photo (checked by sha256), the driving frames are stored. Tolerance: float32, max |diff|
<= 1e-4 on depth, keypoints and generated frames (measured when the golden was made: README.md there).
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pytest
from golden_weights import load_golden, write_dagan_files

import dagan

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
TOL = 1e-4            # max |kit - authors| of any depth value, keypoint coordinate, jacobian entry or pixel in [0, 1]
MEAN_TOL = 1e-5       # full-frame channel means (every pixel of the 256x256 frame, not only the stored grid)
REGENERATE = "regenerate with scripts/make_golden.py (tests/data/golden/README.md)"


@pytest.fixture(scope="module")
def golden() -> tuple[dict, dict[str, np.ndarray]]:
    return load_golden("dagan")


@pytest.fixture(scope="module")
def inputs(golden) -> tuple[np.ndarray, np.ndarray]:
    from skimage.data import astronaut

    doc, arrays = golden
    (r0, r1), (c0, c1) = doc["inputs"]["source"]["rows"], doc["inputs"]["source"]["cols"]
    source = np.ascontiguousarray(astronaut()[r0:r1, c0:c1])
    assert hashlib.sha256(source.tobytes()).hexdigest() == doc["inputs"]["source_sha256"], \
        "skimage's astronaut() photo is not the one the golden was made from"
    driving = arrays["driving_frames"]
    assert hashlib.sha256(driving.tobytes()).hexdigest() == doc["inputs"]["driving_sha256"]
    return source, driving


@pytest.fixture(scope="module")
def kit(golden) -> dagan.DaganModel:
    """The formula weights written in the authors' formats (~300 MB, deleted once loaded), through dagan.load_model."""
    with tempfile.TemporaryDirectory(prefix="dagan_golden_") as tmp:
        files, digest = write_dagan_files(tmp)
        assert digest == golden[0]["weights"]["state_sha256"], f"the weight formula changed; {REGENERATE}"
        return dagan.load_model(files["checkpoint"], files["depth_encoder"], files["depth_decoder"], kp_num=15)


@pytest.fixture(scope="module")
def outputs(kit, inputs, golden) -> dict[str, np.ndarray]:
    """Everything the golden holds, computed by the kit: the source's depth and keypoints from ``prepare_source``, the
    driving frames' in one batch, the generated frames through the streaming API (``animate_chunk``, which
    ``animate`` is made of: tests/dagan/test_dagan_model.py) on the kept frames only, to keep the test short."""
    source, driving = inputs
    src = kit.prepare_source(source)
    frames = kit.preprocess(driving)
    depth = kit.depth(frames)
    kp = kit.keypoints(frames, depth)
    out = {"depth_source": src.depth[0, 0].numpy(), "depth_driving1": depth[1, 0].numpy(),
           "kp_source_value": src.kp["value"][0].numpy(), "kp_source_jacobian": src.kp["jacobian"][0].numpy(),
           "kp_driving_value": kp["value"].numpy(), "kp_driving_jacobian": kp["jacobian"].numpy()}
    init = {k: v[:1] for k, v in kp.items()}          # what kit.driving_keypoints(driving[0]) computes, batched
    for mode, opts in golden[0]["modes"].items():
        kept = golden[0]["kept"][mode]
        gen = kit.animate_chunk(src, driving[kept], init if opts["relative"] else None, **opts)
        out.update({f"generated_{mode}_{i}": g for i, g in zip(kept, gen, strict=True)})
    return out


def _sampled(doc, name, full):
    if name not in doc["grids"]:
        return full
    r, c, s = doc["grids"][name]
    return full[r::s, c::s]


def test_golden_is_not_trivial(golden):
    """The formula weights make every part matter (so the comparisons below cannot pass vacuously)."""
    doc, arrays = golden
    low = {k: v for k, v in doc["checks"].items() if v < doc["check_min"][k]}
    assert not low, f"golden outputs too uniform: {low}"
    assert set(doc["check_min"]) >= {"relative_vs_absolute_mean_abs", "relative_vs_adapt_mean_abs",
                                     "kp_source_spread_min_std", "depth_source_std"}
    assert doc["authors"]["repository"] == "harlanhong/CVPR2022-DaGAN" and len(doc["authors"]["commit"]) == 40


@pytest.mark.parametrize("name", ["depth_source", "depth_driving1", "kp_source_value", "kp_source_jacobian",
                                  "kp_driving_value", "kp_driving_jacobian"])
def test_depth_and_keypoints_equal_authors(golden, outputs, name):
    doc, arrays = golden
    ours = _sampled(doc, name, outputs[name])
    assert ours.shape == arrays[name].shape
    diff = float(np.abs(ours - arrays[name]).max())
    assert diff <= TOL, f"{name}: max |kit - authors| = {diff:.3g} > {TOL}"
    if name in doc["full_means"]:
        assert abs(float(outputs[name].astype(np.float64).mean()) - doc["full_means"][name]) <= MEAN_TOL


@pytest.mark.parametrize("mode", ["relative_adapt", "relative", "absolute"])
def test_generated_frames_equal_authors(golden, outputs, mode):
    doc, arrays = golden
    assert doc["modes"][mode] == {"relative_adapt": {"relative": True, "adapt_scale": True},
                                  "relative": {"relative": True, "adapt_scale": False},
                                  "absolute": {"relative": False, "adapt_scale": False}}[mode]
    for i in doc["kept"][mode]:
        name = f"generated_{mode}_{i}"
        full = outputs[name]
        assert full.shape == (256, 256, 3)
        ours = _sampled(doc, name, full)
        diff = float(np.abs(ours - arrays[name]).max())
        assert diff <= TOL, f"{name}: max |kit - authors| = {diff:.3g} > {TOL}"
        means = full.astype(np.float64).mean(axis=(0, 1))
        np.testing.assert_allclose(means, doc["full_means"][name], rtol=0, atol=MEAN_TOL, err_msg=name)
