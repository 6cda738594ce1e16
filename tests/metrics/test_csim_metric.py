"""CSIM against DaGAN's own code: tests/data/golden/csim.json holds what their utils.py ``evaluate_PRMSE_AUCON``
printed for each image pair (scripts/golden_dagan_csim.py), with InceptionResnetV1 formula weights
(_facenet_weights.py, made here again and checked by digest) and facenet-pytorch's real MTCNN weights."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from talkingface.errors import KitError, MediaError, WeightsError
from talkingface.metrics.base import MetricSpec
from talkingface.metrics.csim import CsimMetric, csim
from talkingface.metrics.protocols import SPECS
from talkingface.metrics.registry import create_metric

pytest.importorskip("facenet_pytorch")
import _facenet_weights as fw  # noqa: E402

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "data" / "golden" / "csim.json").read_text("utf-8"))
CASES = {c["case"]: c for c in GOLDEN["cases"]}
RTOL = 1e-5


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    path, digest = fw.write_facenet_file(tmp_path_factory.mktemp("facenet") / fw.FACENET_FILE)
    assert digest == GOLDEN["weights"]["facenet"]["state_sha256"], "formula weights differ from the golden's"
    return path


@pytest.fixture(scope="module")
def metric(weights) -> CsimMetric:
    return CsimMetric(SPECS["csim"], weights=weights)


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    """The golden's images; an OpenCV-rendered one that drifted (another OpenCV) is left out, the others must match."""
    out = {}
    for name, info in GOLDEN["images"].items():
        image = fw.make_image(name)
        if fw.image_sha256(image) != info["sha256"]:
            assert name in fw.OPENCV_IMAGES, f"image {name} differs from the golden's ({info['recipe']})"
            continue
        out[name] = image
    return out


def _golden(case: str) -> float:
    """Their printed per-pair value with their counter's 1e-9 start taken out (NaN: their except skipped it)."""
    value = CASES[case]["csim"]
    return float("nan") if value is None else value * (1 + 1e-9)


def _usable(images) -> list[dict]:
    return [c for c in GOLDEN["cases"] if c["source"] in images and c["generated"] in images]


def test_every_pair_equals_the_authors(metric, images):
    cases = _usable(images)
    assert len(cases) >= 9
    kit = {c["case"]: float(metric(images[c["generated"]], images[c["source"]])[0]) for c in cases}
    for c in cases:
        want = _golden(c["case"])
        if np.isnan(want):
            assert np.isnan(kit[c["case"]]), f"{c['case']}: the authors skipped it ({c['skipped']})"
        else:
            assert kit[c["case"]] == pytest.approx(want, rel=RTOL), c["case"]
    values = [v for v in kit.values() if not np.isnan(v)]
    assert max(values) - min(values) > 0.2, "formula weights make every face alike: the test would have no teeth"
    if len(cases) == len(GOLDEN["cases"]):          # the mean their loop printed over all pairs
        n = GOLDEN["all_pairs"]["n_used"]
        assert len(values) == n
        assert np.mean(values) == pytest.approx(GOLDEN["all_pairs"]["printed"] * (n + 1e-9) / n, rel=RTOL)


def test_plain_function_mean_skips_faceless_frames(weights, images):
    coffee = np.ascontiguousarray(np.pad(images["coffee"], ((56, 56), (0, 0), (0, 0)), mode="edge")[:, 44:556])
    got = csim(images["astronaut"], np.stack([images["astronaut_flip"], coffee]), weights=weights)
    assert got == pytest.approx(_golden("flip"), rel=RTOL)


def test_runner_layout_broadcast_source_of_another_size(metric, images):
    """The runner passes the source once per frame (np.broadcast_to), here 512x512 against 256x256 frames."""
    gen = np.stack([images["astronaut_half"], images["astronaut_half"]])
    src = np.broadcast_to(images["astronaut"], (2, *images["astronaut"].shape))
    np.testing.assert_allclose(metric(gen, src), [_golden("half")] * 2, rtol=RTOL)


def test_source_cache_changes_nothing(weights, images, monkeypatch):
    fresh = CsimMetric(SPECS["csim"], weights=weights)
    gen = np.stack([images["astronaut_flip"], images["astronaut_blur"], images["astronaut"]])
    calls = []
    crop = fresh.crop
    monkeypatch.setattr(fresh, "crop", lambda im: calls.append(im.shape) or crop(im))
    first = fresh(gen, images["astronaut"])
    assert len(calls) == 1 + 3                      # the source cropped once for the three frames
    second = fresh(gen, np.broadcast_to(images["astronaut"], gen.shape))
    assert len(calls) == 1 + 3 + 3                  # cached: only the generated frames again
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, [_golden("flip"), _golden("blur"), _golden("same")], rtol=RTOL)


def test_numpy_crop_path_is_a_different_protocol(metric, images):
    """facenet crops arrays with OpenCV INTER_AREA, PIL images with PIL bilinear: feeding arrays is a slip."""
    src, gen = images["astronaut"], images["astronaut_half"]
    faces = [metric.mtcnn(src), metric.mtcnn(gen)]
    emb = metric.embed(faces)
    slipped = float(torch.cosine_similarity(emb[:1], emb[1:])[0])
    assert abs(slipped - _golden("half")) > 100 * RTOL * _golden("half")


def test_no_face_is_nan(metric, weights, images):
    assert CsimMetric.skip_reason == "no face found"
    coffee = np.ascontiguousarray(np.pad(images["coffee"], ((56, 56), (0, 0), (0, 0)), mode="edge")[:, 44:556])
    values = metric(np.stack([images["astronaut"], coffee]), images["astronaut"])
    assert values.dtype == np.float64 and values.shape == (2,)
    assert values[0] == pytest.approx(1.0, abs=1e-6) and np.isnan(values[1])
    assert np.isnan(metric(images["astronaut"], images["coffee"])).all()         # no face in the source
    assert np.isnan(csim(images["coffee"], images["coffee"], weights=weights))


def test_missing_and_wrong_weights(tmp_path, weights):
    missing = tmp_path / "nope" / fw.FACENET_FILE
    with pytest.raises(WeightsError, match=f"weights missing: {missing}"):
        CsimMetric(SPECS["csim"], weights=missing)
    with pytest.raises(WeightsError, match="pnet.pt"):
        CsimMetric(SPECS["csim"], weights=weights, detector_weights={"pnet": tmp_path / "pnet.pt"})
    with pytest.raises(KitError, match="unknown network"):
        CsimMetric(SPECS["csim"], weights=weights, detector_weights={"qnet": weights})
    state = torch.load(weights, weights_only=True)
    del state["logits.weight"]                      # strict: the published file's logits layer must be there
    torch.save(state, tmp_path / "no_logits.pt")
    with pytest.raises(WeightsError, match="missing key.*logits.weight"):
        CsimMetric(SPECS["csim"], weights=tmp_path / "no_logits.pt")
    folder = tmp_path / "mtcnn"
    _copy_detector(folder)
    pnet = torch.load(folder / "pnet.pt", weights_only=True)
    pnet["conv9.weight"] = pnet["conv1.weight"]
    torch.save(pnet, folder / "pnet.pt")
    with pytest.raises(WeightsError, match="unexpected key.*conv9.weight"):
        CsimMetric(SPECS["csim"], weights=weights, detector_weights=folder)


def _copy_detector(folder: Path) -> None:
    import facenet_pytorch

    folder.mkdir()
    for net in ("pnet", "rnet", "onet"):
        shutil.copy(Path(facenet_pytorch.__file__).parent / "data" / f"{net}.pt", folder / f"{net}.pt")


def test_create_metric_with_explicit_weights(tmp_path, weights, images):
    _copy_detector(tmp_path / "mtcnn")
    m = create_metric("csim", weights=weights, detector_weights=tmp_path / "mtcnn")
    assert isinstance(m.spec, MetricSpec) and m.spec.source_reference and not m.spec.lower_is_better
    assert float(m(images["astronaut_bright"], images["astronaut"])[0]) == pytest.approx(_golden("bright"), rel=RTOL)
    with pytest.raises(MediaError, match="source"):
        m(images["astronaut"])


def test_dagan_fixture_face_when_present(metric, shared_fixtures):
    if shared_fixtures is None or not (shared_fixtures / "dagan" / "src.png").is_file():
        pytest.skip("../shared/fixtures/dagan/src.png not present")
    from PIL import Image

    src = np.asarray(Image.open(shared_fixtures / "dagan" / "src.png").convert("RGB"))
    values = metric(np.stack([src, src[:, ::-1]]), src)
    assert values[0] == pytest.approx(1.0, abs=1e-6) and 0.3 < values[1] < 1.0 - 1e-4
