"""LawDNet / DINet / SyncNet / discriminator networks: the authors' state-dict layouts, sizes and output shapes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lawdnet.config import crop_size
from lawdnet.modules.dinet import DINet
from lawdnet.modules.discriminator import Discriminator
from lawdnet.modules.lawdnet import LawDNet
from lawdnet.modules.local_affine_warp import LocalAffineWarp, authors_grid_layout
from lawdnet.modules.syncnet import SyncNet

LAYOUTS = Path(__file__).resolve().parents[1] / "data" / "layouts"


def _same_layout(state, layout):
    assert list(state) == list(layout)          # same names, in the authors' order
    for key, spec in layout.items():
        assert list(state[key].shape) == spec["shape"], key
        assert str(state[key].dtype).removeprefix("torch.") == spec["dtype"], key


def _size(net):
    """(state-dict entries, parameters) as the authors' listings count them."""
    return len(net.state_dict()), sum(p.numel() for p in net.parameters())


def test_lawdnet_layout_is_the_authors():
    net = LawDNet()
    state = net.state_dict()
    _same_layout(state, json.loads((LAYOUTS / "lawdnet_generator.json").read_text()))
    assert _size(net) == (128, 21_082_691)
    assert "audio_encoder.1.norm1.running_var" in state and "lawLayer_list.0.radius_layer.0.weight" in state
    assert not any("standard_grid" in k for k in state)


@pytest.mark.parametrize(("name", "channels"), [("net_dI", 3), ("net_dV", 15)])
def test_discriminator_layouts_are_the_authors(name, channels):
    layout = json.loads((LAYOUTS / "lawdnet_checkpoint_format.json").read_text())["layouts"][name]
    _same_layout(Discriminator(channels).state_dict(), layout)
    feats, score = Discriminator(channels)(torch.rand(1, channels, 416, 320))
    assert score.shape == (1, 1, 46, 34) and [f.shape[1] for f in feats] == [128, 256, 256, 256]


def test_dinet_and_syncnet_sizes():
    net = DINet()
    state = net.state_dict()
    assert _size(net) == (332, 19_190_275)
    assert state["adaAT.translation.0.weight"].shape == (512, 256)
    assert state["appearance_conv_list.1.3.norm2.running_mean"].shape == (256,)
    assert state["audio_encoder.0.norm.num_batches_tracked"].dtype == torch.int64
    assert _size(SyncNet(15, 29, 128)) == (68, 3_277_121)
    sync = SyncNet(15, 29, 128).state_dict()
    assert sync["face_encoder.face_conv.15.conv.weight"].shape == (128, 128, 1, 1)
    assert sync["merge_encoder.2.weight"].shape == (1, 128, 3, 3)


@pytest.mark.parametrize("mouth", [64, 128, 256, 288])
@pytest.mark.parametrize("net", [LawDNet, DINet])
def test_output_shapes(net, mouth):
    h, w = crop_size(mouth)
    model = net().eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, h, w), torch.rand(1, 15, h, w), torch.randn(1, 29, 5))
    assert out.shape == (1, 3, h, w) and out.dtype == torch.float32
    assert 0 <= float(out.min()) and float(out.max()) <= 1


def test_syncnet_score_map():
    with torch.no_grad():
        score = SyncNet().eval()(torch.rand(2, 15, 256, 256), torch.randn(2, 29, 9))
    assert score.shape == (2, 1, 8, 8)


def test_reshape_chain_scrambles_even_the_identity():
    """The authors' chain is not a plain resize: identity parameters do not give the identity grid (facts B.2)."""
    warp = LocalAffineWarp(feature_ch=4, num_kpoints=1)
    grid = warp.standard_grid.view(1, 1, 60, 60, 2).expand(1, 4, 60, 60, 2)
    ours = authors_grid_layout(grid, (60, 60))
    assert ours.shape == (1, 4, 60, 60, 2)
    assert float((ours - grid).abs().max()) > 1.0
    assert warp.state_dict().keys().isdisjoint({"standard_grid"})


def test_standard_grid_follows_the_module():
    warp = LocalAffineWarp(feature_ch=2, num_kpoints=1).to(torch.float64)
    assert warp.standard_grid.shape == (1, 60, 60, 2)
    assert warp.standard_grid[0, 0, 0].tolist() == pytest.approx([-1 + 1 / 60, -1 + 1 / 60])
    assert warp.standard_grid[0, 0, 1, 0] > warp.standard_grid[0, 0, 0, 0]      # x runs along the columns
    meta = LocalAffineWarp(feature_ch=2, num_kpoints=1).to("meta")
    assert meta.standard_grid.is_meta
