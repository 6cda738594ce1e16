"""LPIPS (alex, v0.1) against the lpips package's own forward with the same (randomly made) weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _metric_images import crops, make_image

from talkingface.errors import WeightsError
from talkingface.metrics import create_metric, lpips

lpips_pkg = pytest.importorskip("lpips")
torchvision = pytest.importorskip("torchvision")


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict:
    """A random torchvision AlexNet state dict (the ImageNet file's format) and random non-negative lpips
    linear layers (the alex.pth format), saved like the originals."""
    root = tmp_path_factory.mktemp("lpips_weights")
    torch.manual_seed(0)
    alex = torchvision.models.alexnet(weights=None)
    backbone = root / "alexnet-owt-7be5be79.pth"
    torch.save(alex.state_dict(), backbone)
    chns = [64, 192, 384, 256, 256]
    lin = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) * 0.1 for i, c in enumerate(chns)}
    linear = root / "alex.pth"
    torch.save(lin, linear)
    return {"backbone": backbone, "linear": linear, "alexnet": alex}


def _reference(weights, monkeypatch, linear_path=None) -> torch.nn.Module:
    """lpips.LPIPS built by its own constructor; only torchvision's download is replaced by our AlexNet."""
    monkeypatch.setattr(lpips_pkg.pretrained_networks.tv, "alexnet", lambda *a, **k: weights["alexnet"])
    return lpips_pkg.LPIPS(net="alex", version="0.1", model_path=linear_path, verbose=False).eval()


@pytest.fixture(scope="module")
def pairs():
    ref = np.stack(crops(4, size=96, seed=11))
    rng = np.random.default_rng(0)
    gen = np.clip(ref + rng.normal(0, 12, ref.shape).round(), 0, 255).astype(np.uint8)
    gen[3] = ref[3]
    return gen, ref


def _ref_values(model, gen, ref):
    with torch.no_grad():
        return np.array([model(lpips_pkg.im2tensor(g), lpips_pkg.im2tensor(r)).item()
                         for g, r in zip(gen, ref, strict=True)])


def test_equals_lpips_package(weights, pairs, monkeypatch):
    gen, ref = pairs
    want = _ref_values(_reference(weights, monkeypatch, str(weights["linear"])), gen, ref)
    m = create_metric("lpips", backbone_weights=weights["backbone"], linear_weights=weights["linear"])
    ours = m(gen, ref)
    assert ours.shape == (4,) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-7)
    assert ours[3] == 0.0 and np.all(ours[:3] > 1e-4)
    assert lpips(gen[0], ref[0], weights["backbone"], weights["linear"]) == pytest.approx(want[0], rel=1e-5)


def test_package_linear_layers_through_the_manifest(weights, monkeypatch, tmp_path):
    """lpips_alex_linear resolves to the copy inside the lpips package when checkpoints/ has none."""
    monkeypatch.setenv("TALKINGFACE_CHECKPOINTS", str(tmp_path))
    img = make_image("astronaut")[100:228, 180:308]
    other = make_image("astronaut")[104:232, 180:308]
    want = _ref_values(_reference(weights, monkeypatch), [img], [other])[0]
    assert lpips(img, other, backbone_weights=weights["backbone"]) == pytest.approx(want, rel=1e-5)


def test_weight_errors(weights, tmp_path):
    with pytest.raises(WeightsError, match=r"weights missing: .*absent\.pth \(`python -m talkingface weights fetch "
                                           r"alexnet_imagenet`\); see `python -m talkingface weights status`"):
        create_metric("lpips", backbone_weights=tmp_path / "absent.pth", linear_weights=weights["linear"])
    with pytest.raises(WeightsError, match=r"absent\.pth .*fetch alexnet_imagenet.*, .*no_lin\.pth .*fetch "
                                           r"lpips_alex_linear"):     # every missing file at once
        create_metric("lpips", backbone_weights=tmp_path / "absent.pth", linear_weights=tmp_path / "no_lin.pth")
    state = torch.load(weights["backbone"], weights_only=True)
    del state["features.10.weight"]
    bad = tmp_path / "bad_alexnet.pth"
    torch.save(state, bad)
    with pytest.raises(WeightsError, match=r"bad_alexnet\.pth: no features\.10\.weight"):
        create_metric("lpips", backbone_weights=bad, linear_weights=weights["linear"])
    with pytest.raises(WeightsError, match=r"alexnet-owt-7be5be79\.pth: expected keys lin0"):
        create_metric("lpips", backbone_weights=weights["backbone"], linear_weights=weights["backbone"])
