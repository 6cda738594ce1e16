"""DaGAN networks: the authors' state-dict layouts, building blocks, and the split generator forward."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from dagan.config import DaganConfig
from dagan.model import build_depth_network, build_discriminator, build_generator, build_kp_detector
from dagan.modules.blocks import AntiAliasInterpolation2d, Hourglass, kp2gaussian, make_coordinate_grid
from dagan.modules.depth_decoder import DepthDecoder
from dagan.modules.depth_encoder import DepthEncoder
from dagan.modules.generator import DepthAwareAttention

LAYOUT_FILES = {
    "dagan_generator.json": lambda cfg: build_generator(cfg),
    "dagan_kp_detector.json": lambda cfg: build_kp_detector(cfg),
    "dagan_depth_encoder_resnet18.json": lambda cfg: build_depth_network(cfg)[0],
    "dagan_depth_decoder_resnet18.json": lambda cfg: build_depth_network(cfg)[1],
}


@pytest.mark.parametrize("name", sorted(LAYOUT_FILES))
def test_full_size_networks_match_the_authors_layouts(name, layouts_dir):
    layout = json.loads((layouts_dir / name).read_text())
    state = LAYOUT_FILES[name](DaganConfig()).state_dict()
    assert list(state) == list(layout)  # same names, in the authors' order
    for key, spec in layout.items():
        assert list(state[key].shape) == spec["shape"], key
        assert str(state[key].dtype).removeprefix("torch.") == spec["dtype"], key


def test_published_model_facts():
    cfg = DaganConfig()
    kp_sd, gen_sd = build_kp_detector(cfg).state_dict(), build_generator(cfg).state_dict()
    assert kp_sd["kp.weight"].shape[0] == 15
    assert kp_sd["predictor.encoder.down_blocks.0.conv.weight"].shape[1] == 4  # RGB-D
    assert kp_sd["down.weight"].shape == (4, 1, 13, 13)  # buffers are part of the format
    assert gen_sd["dense_motion_network.down.weight"].shape == (3, 1, 13, 13)
    assert not any(k.startswith("decoder.") for k in gen_sd)  # not the SPADE generator


def test_discriminator_keys_are_the_authors():
    sd = build_discriminator(DaganConfig()).state_dict()
    assert sd["discs.1.down_blocks.0.conv.weight"].shape == (64, 3 + 15, 4, 4)  # image + kp heatmaps
    assert "discs.1.down_blocks.1.norm.weight" in sd and "discs.1.conv.weight" in sd
    assert "discs.1.down_blocks.0.norm.weight" not in sd


def test_coordinate_grid_and_gaussians():
    grid = make_coordinate_grid((3, 5))
    assert grid.shape == (3, 5, 2)
    assert grid[0, 0].tolist() == [-1, -1] and grid[-1, -1].tolist() == [1, 1] and grid[1, 2].tolist() == [0, 0]
    kp = torch.tensor([[[0.5, -0.5]]])
    g = kp2gaussian(kp, (9, 9), kp_variance=0.01)
    assert g.shape == (1, 1, 9, 9)
    peak = divmod(int(g.flatten().argmax()), 9)
    assert peak == (2, 6) and g.max() == pytest.approx(1.0)


def test_anti_alias_interpolation():
    down = AntiAliasInterpolation2d(4, 0.25)
    assert down.weight.shape == (4, 1, 13, 13)
    assert torch.allclose(down.weight.sum(dim=(2, 3)), torch.ones(4, 1))
    x = torch.full((1, 4, 32, 32), 0.3)
    y = down(x)
    assert y.shape == (1, 4, 8, 8)
    assert torch.allclose(y[..., 2:-2, 2:-2], torch.full_like(y[..., 2:-2, 2:-2], 0.3))  # constant stays constant
    assert AntiAliasInterpolation2d(3, 1)(x[:, :3]) is not None


def test_hourglass_output_channels():
    hg = Hourglass(block_expansion=4, in_features=5, num_blocks=3, max_features=16).eval()
    out = hg(torch.rand(2, 5, 16, 16))
    assert out.shape == (2, hg.out_filters, 16, 16) and hg.out_filters == 4 + 5


@pytest.mark.parametrize("layers, channels", [(18, (64, 64, 128, 256, 512)), (50, (64, 256, 512, 1024, 2048))])
def test_depth_network_shapes(layers, channels):
    enc = DepthEncoder(layers).eval()
    dec = DepthDecoder(enc.num_ch_enc).eval()
    assert enc.num_ch_enc == channels
    assert sorted({k.split(".")[1] for k in dec.state_dict()}, key=int) == [str(i) for i in range(14)]
    with torch.no_grad():
        feats = enc(torch.rand(1, 3, 64, 64))
        assert [f.shape[1] for f in feats] == list(channels)
        disp = dec(feats)
        scales = dec.forward_scales(feats, scales=(0, 1, 2, 3))
    assert disp.shape == (1, 1, 64, 64) and float(disp.min()) > 0 and float(disp.max()) < 1
    assert torch.equal(scales[0], disp) and scales[3].shape == (1, 1, 8, 8)


def test_depth_encoder_normalises_input(randomise):
    enc = randomise(DepthEncoder(18), 0)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        first = enc(x)[0]
        r = enc.encoder
        manual = r.relu(r.bn1(r.conv1((x - 0.45) / 0.225)))
    assert torch.equal(first, manual)


def test_attention_is_the_authors_unscaled_softmax(randomise):
    att = randomise(DepthAwareAttention(16), 0)
    src, feat = torch.rand(2, 16, 6, 5), torch.rand(2, 16, 6, 5)
    with torch.no_grad():
        out = att(src, feat)
        b, c, h, w = feat.shape  # the authors' formulation with bmm
        q = F.relu(att.query_conv(src)).view(b, -1, h * w).permute(0, 2, 1)
        k = F.relu(att.key_conv(feat)).view(b, -1, h * w)
        attention = torch.softmax(torch.bmm(q, k), dim=-1)
        v = F.relu(att.value_conv(feat)).view(b, -1, h * w)
        ref = att.gamma * torch.bmm(v, attention.permute(0, 2, 1)).view(b, c, h, w) + feat
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    assert (out - feat).abs().max() > 1e-3  # gamma != 0: the attention contributes


def test_keypoint_detector_outputs(tiny_nets):
    kp_detector = tiny_nets[1]
    with torch.no_grad():
        kp = kp_detector(torch.rand(3, 4, 64, 64))
    assert kp["value"].shape == (3, 5, 2) and kp["jacobian"].shape == (3, 5, 2, 2)
    assert kp["value"].abs().max() <= 1
    fresh = build_kp_detector(DaganConfig())  # jacobians start at identity, as the authors' init
    assert torch.equal(fresh.jacobian.bias[:4], torch.tensor([1.0, 0.0, 0.0, 1.0]))
    assert not fresh.jacobian.weight.any()


def test_generator_split_forward_equals_forward_and_broadcasts(tiny_nets):
    generator, kp_detector = tiny_nets[0], tiny_nets[1]
    torch.manual_seed(0)
    source, depth = torch.rand(1, 3, 64, 64), torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        kp_source = kp_detector(torch.cat([source, depth], 1))
        kp_driving = kp_detector(torch.rand(3, 4, 64, 64))
        enc = generator.encode_source(source, depth)
        batched = generator.decode(enc, kp_source, kp_driving)
        for i in range(3):
            one = {k: v[i:i + 1] for k, v in kp_driving.items()}
            full = generator(source, kp_driving=one, kp_source=kp_source, source_depth=depth, driving_depth=None)
            assert set(full) >= {"prediction", "mask", "occlusion_map", "sparse_deformed", "deformed"}
            torch.testing.assert_close(batched["prediction"][i:i + 1], full["prediction"], atol=1e-5, rtol=0)
        lean = generator.decode(enc, kp_source, kp_driving, full_output=False)
    assert set(lean) == {"prediction"} and torch.equal(lean["prediction"], batched["prediction"])
    assert batched["prediction"].shape == (3, 3, 64, 64)
    assert (batched["prediction"][0] - batched["prediction"][1]).abs().max() > 1e-3  # motion matters


def test_discriminator_forward(tiny_nets, tiny_cfg):
    disc = tiny_nets[4]
    kp = {"value": torch.rand(2, 5, 2) * 2 - 1}
    with torch.no_grad():
        out = disc({"prediction_1": torch.rand(2, 3, 64, 64)}, kp)
    assert len(out["feature_maps_1"]) == 2 and out["prediction_map_1"].shape[:2] == (2, 1)
