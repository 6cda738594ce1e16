"""AED (FOMM pose-evaluation protocol) against the authors' own code: tests/data/golden/aed.json + aed.npz were made
by scripts/golden_pose_evaluation_aed.py running pose-evaluation's extract_face_id + cmp.py with OpenFacePytorch's
netOpenFace on the formula weights and image pairs of _openface_weights.py. The kit must give the same numbers; the
protocol slips (RGB, sqrt, anti-aliased resize, torch's LocalResponseNorm) must not."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from _openface_weights import make_pairs, openface_state

from talkingface.errors import KitError, WeightsError
from talkingface.metrics.aed import AedMetric, aed, build_openface, preprocess, squared_distances
from talkingface.metrics.openface_net import LegacyCrossMapLRN, OpenFaceNN4Small2
from talkingface.metrics.protocols import SPECS
from talkingface.weights import save_torch

DATA = Path(__file__).resolve().parents[1] / "data"
RTOL = 1e-5


@pytest.fixture(scope="module")
def golden():
    doc = json.loads((DATA / "golden" / "aed.json").read_text(encoding="utf-8"))
    with np.load(DATA / "golden" / "aed.npz") as npz:
        return doc, {k: npz[k] for k in npz.files}


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory) -> Path:
    """The golden's formula weights, as a plain state dict without num_batches_tracked (like openface.pth)."""
    with torch.random.fork_rng(devices=[]):
        state = openface_state(OpenFaceNN4Small2().state_dict())
    return save_torch(state, tmp_path_factory.mktemp("openface") / "openface.pth")


@pytest.fixture(scope="module")
def metric(weights_file) -> AedMetric:
    return AedMetric(SPECS["aed"], weights=weights_file)


@pytest.fixture(scope="module")
def batches(golden):
    doc, _ = golden
    pairs = make_pairs()
    for name in doc["order"]:
        got = [hashlib.sha256(np.ascontiguousarray(p).tobytes()).hexdigest() for p in pairs[name]]
        assert got == doc["pairs"][name]["sha256"], f"pair {name!r} renders differently from the golden's"
    gen = np.stack([pairs[n][0] for n in doc["order"]])
    gt = np.stack([pairs[n][1] for n in doc["order"]])
    return gen, gt, np.array([doc["distances"][n] for n in doc["order"]])


def test_distances_equal_the_authors_code(metric, batches, golden):
    gen, gt, want = batches
    got = metric(gen, gt)
    assert got.dtype == np.float64 and got.shape == (len(want),)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0)
    assert float(np.mean(got)) == pytest.approx(golden[0]["mean"], rel=RTOL)
    assert want.max() / want.min() > 3, "the golden distances must vary across pairs"


@pytest.fixture(scope="module")
def embeddings(metric, batches):
    gen, gt, _ = batches
    return metric.embed(gen), metric.embed(gt)


def test_embeddings_equal_the_authors_code(embeddings, golden):
    np.testing.assert_allclose(embeddings[0], golden[1]["emb_gen"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(embeddings[1], golden[1]["emb_gt"], rtol=0, atol=1e-6)


def test_plain_function_and_batch_size_one(weights_file, batches, golden):
    gen, gt, want = batches
    assert aed(gen[:3], gt[:3], weights=weights_file) == pytest.approx(float(np.mean(want[:3])), rel=RTOL)
    one = AedMetric(SPECS["aed"], weights=weights_file, batch_size=1)
    np.testing.assert_allclose(one(gen[:2], gt[:2]), want[:2], rtol=RTOL)


def test_lrn_is_the_legacy_one(golden):
    arrays = golden[1]
    x = torch.from_numpy(arrays["lrn_in"])
    ours = LegacyCrossMapLRN(5, 1e-4, 0.75, 1.0)(x).numpy()
    np.testing.assert_allclose(ours, arrays["lrn_out"], rtol=1e-6, atol=1e-5)
    modern = torch.nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0)(x).numpy()       # slip: no stale channel-0 term
    assert np.abs(modern - arrays["lrn_out"]).max() > 0.1


def test_slips_change_the_value(metric, batches, embeddings):
    gen, gt, want = batches
    emb_gen, emb_gt = embeddings
    with torch.no_grad():
        def run(x):
            return metric.model(torch.from_numpy(np.ascontiguousarray(x))).numpy()
        rgb = squared_distances(run(preprocess(gen)[:, ::-1]), run(preprocess(gt)[:, ::-1]))
        anti = squared_distances(run(preprocess(gen, "antialias")), run(preprocess(gt, "antialias")))
    euclid = np.sqrt(squared_distances(emb_gen, emb_gt))
    for name, slip in (("RGB instead of BGR", rgb), ("Euclidean (sqrt)", euclid), ("anti-aliased resize", anti)):
        assert np.abs(slip / want - 1).max() > 100 * RTOL, f"{name} is not caught by the golden"


def test_state_dict_layout_is_theirs():
    layout = json.loads((DATA / "layouts" / "openface_nn4_small2.json").read_text(encoding="utf-8"))
    ours = {k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")}
            for k, v in OpenFaceNN4Small2().state_dict().items()}
    assert list(ours) == list(layout)
    assert ours == layout


def test_missing_weights_name_the_file(tmp_path):
    missing = tmp_path / "nowhere" / "openface.pth"
    with pytest.raises(WeightsError, match="openface.pth"):
        AedMetric(SPECS["aed"], weights=missing)


def test_strict_load_names_bad_keys(tmp_path, weights_file):
    state = torch.load(weights_file, weights_only=True)
    state["layer99.weight"] = state.pop("layer25.weight")
    bad = save_torch(state, tmp_path / "bad.pth")
    with pytest.raises(WeightsError) as err:
        build_openface(bad)
    text = str(err.value)
    assert "layer25.weight" in text and "layer99.weight" in text and "\n" not in text
    state["layer25.weight"] = state.pop("layer99.weight")[:, :10]
    with pytest.raises(WeightsError, match=r"layer25\.weight \[128, 10\]"):
        build_openface(save_torch(state, tmp_path / "shape.pth"))


def test_inputs_checked(metric, batches):
    gen, gt, _ = batches
    with pytest.raises(KitError, match="reference"):
        metric(gen[:1])
    with pytest.raises(KitError):
        metric(gen[:2], gt[:1])
    with pytest.raises(KitError, match="resize"):
        AedMetric(SPECS["aed"], weights=None, resize="bicubic")


def test_shared_fixture_src_png(metric, shared_fixtures):
    """Optional: DaGAN's src.png (a real face) vs its mirror image: finite, positive, in [0, 4]."""
    src = shared_fixtures / "dagan" / "src.png" if shared_fixtures else None
    if src is None or not src.exists():
        pytest.skip("../shared/fixtures/dagan/src.png absent")
    from talkingface.media.images import read_image

    img = np.ascontiguousarray(read_image(src)[..., :3])
    d = metric(np.stack([img[:, ::-1], img]), np.stack([img, img]))
    assert np.isfinite(d).all() and 0 < d[0] <= 4 and d[1] == 0
