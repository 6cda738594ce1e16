"""DaGAN checkpoints: the authors' formats written and read strictly, and clear errors for wrong files."""
from __future__ import annotations

import copy
import json

import pytest
import torch

from dagan.checkpoint import (
    load_dagan_checkpoint,
    load_depth_decoder,
    load_depth_encoder,
    save_checkpoint,
    save_depth_decoder,
    save_depth_encoder,
)
from dagan.config import DaganConfig
from dagan.model import build_depth_network, build_discriminator, build_generator, build_kp_detector
from dagan.modules.depth_decoder import DepthDecoder
from dagan.modules.depth_encoder import DepthEncoder
from talkingface.errors import WeightsError


def _fresh(cfg):
    return build_generator(cfg), build_kp_detector(cfg), build_discriminator(cfg)


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("ddp", [False, True])
def test_save_and_load_the_authors_pth_tar(tmp_path, tiny_nets, tiny_cfg, ddp):
    gen, kp, _, _, disc = tiny_nets
    optimizers = {"generator": torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                  "optimizer_discriminator": torch.optim.Adam(disc.parameters()),
                  "kp_detector": torch.optim.Adam(kp.parameters())}
    path = save_checkpoint(tmp_path / "00000149-checkpoint.pth.tar", gen, kp, disc, optimizers, epoch=149,
                           ddp_prefix=ddp)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # atomic: no temporary file left behind

    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert set(raw) == {"generator", "kp_detector", "discriminator", "optimizer_generator",
                        "optimizer_discriminator", "optimizer_kp_detector", "epoch"}
    assert raw["epoch"] == 149
    assert all(k.startswith("module.") == ddp for k in raw["generator"])
    assert "dense_motion_network.down.weight" in {k.removeprefix("module.") for k in raw["generator"]}
    assert "down.weight" in {k.removeprefix("module.") for k in raw["kp_detector"]}

    g2, k2, d2 = _fresh(tiny_cfg)
    ckpt = load_dagan_checkpoint(path, g2, k2, d2)
    assert _same(gen, g2) and _same(kp, k2) and _same(disc, d2)
    assert ckpt["epoch"] == 149


def test_saved_full_size_state_dicts_match_the_reference_layouts(layouts_dir):
    cfg = DaganConfig()
    gen, kp = build_generator(cfg), build_kp_detector(cfg)
    for name, net in (("dagan_generator.json", gen), ("dagan_kp_detector.json", kp)):
        layout = json.loads((layouts_dir / name).read_text())
        ours = {k: (list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in net.state_dict().items()}
        assert ours == {k: (v["shape"], v["dtype"]) for k, v in layout.items()}, name


def test_depth_files_in_the_authors_format(tmp_path, tiny_nets, layouts_dir):
    enc, dec = tiny_nets[2], tiny_nets[3]
    save_depth_encoder(tmp_path / "encoder.pth", enc, height=256, width=256, use_stereo=False)
    save_depth_decoder(tmp_path / "depth.pth", dec)
    raw_enc = torch.load(tmp_path / "encoder.pth", weights_only=True)
    raw_dec = torch.load(tmp_path / "depth.pth", weights_only=True)
    assert raw_enc["height"] == 256 and raw_enc["width"] == 256 and raw_enc["use_stereo"] is False
    for name, raw in (("dagan_depth_encoder_resnet18.json", raw_enc), ("dagan_depth_decoder_resnet18.json", raw_dec)):
        layout = json.loads((layouts_dir / name).read_text())
        tensors = {k: v for k, v in raw.items() if isinstance(v, torch.Tensor)}
        assert {k: list(v.shape) for k, v in tensors.items()} == {k: v["shape"] for k, v in layout.items()}
    assert "encoder.fc.weight" in raw_enc and "decoder.13.conv.weight" in raw_dec

    e2, d2 = build_depth_network(DaganConfig())
    load_depth_encoder(tmp_path / "encoder.pth", e2)  # extras ignored, everything else strict
    load_depth_decoder(tmp_path / "depth.pth", d2)
    assert _same(enc, e2) and _same(dec, d2)


# ---------------------------------------------------------------------------------------------- wrong files

def _tiny_ckpt(tmp_path, tiny_nets, **edit):
    gen, kp = tiny_nets[0], tiny_nets[1]
    ckpt = {"generator": dict(gen.state_dict()), "kp_detector": dict(kp.state_dict()), "epoch": 0}
    for section, fn in edit.items():
        ckpt[section] = fn(ckpt[section])
    path = tmp_path / "model.pth.tar"
    torch.save(ckpt, path)
    return path


def _load_error(path, cfg) -> str:
    g, k, _ = _fresh(cfg)
    with pytest.raises(WeightsError) as err:
        load_dagan_checkpoint(path, g, k)
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg
    return msg


def test_spade_generator_checkpoint_is_named(tmp_path, tiny_nets, tiny_cfg):
    def spade(sd):
        sd = {k: v for k, v in sd.items() if not k.startswith(("up_blocks", "bottleneck", "final"))}
        sd["decoder.G_middle_0.conv_0.weight_orig"] = torch.zeros(512, 512, 3, 3)
        sd["decoder.fc.weight"] = torch.zeros(512, 256, 3, 3)
        return sd

    msg = _load_error(_tiny_ckpt(tmp_path, tiny_nets, generator=spade), tiny_cfg)
    assert "SPADEDepthAwareGenerator" in msg and "DepthAwareGenerator" in msg


def test_other_kp_num_is_named(tmp_path, tiny_cfg):
    cfg10 = copy.deepcopy(tiny_cfg)
    cfg10.model_params.common_params.num_kp = 10
    path = tmp_path / "kp10.pth.tar"
    save_checkpoint(path, build_generator(cfg10), build_kp_detector(cfg10))
    msg = _load_error(path, tiny_cfg)
    assert "10 keypoints" in msg and "kp_num=5" in msg and "pass kp_num=10" in msg


def test_rgb_keypoint_detector_is_named(tmp_path, tiny_nets, tiny_cfg):
    def rgb(sd):
        key = "predictor.encoder.down_blocks.0.conv.weight"
        return {**sd, key: sd[key][:, :3]}

    msg = _load_error(_tiny_ckpt(tmp_path, tiny_nets, kp_detector=rgb), tiny_cfg)
    assert "3 input channels" in msg and "RGB-D" in msg


def test_missing_unexpected_and_misshapen_keys_are_listed(tmp_path, tiny_nets, tiny_cfg):
    def damage(sd):
        sd = dict(sd)
        del sd["final.bias"]
        sd["extra.weight"] = torch.zeros(1)
        sd["first.conv.weight"] = torch.zeros(1, 1, 1, 1)
        return sd

    msg = _load_error(_tiny_ckpt(tmp_path, tiny_nets, generator=damage), tiny_cfg)
    assert "final.bias" in msg and "extra.weight" in msg and "first.conv.weight [1, 1, 1, 1]" in msg


def test_buffers_are_required(tmp_path, tiny_nets, tiny_cfg):
    msg = _load_error(_tiny_ckpt(tmp_path, tiny_nets, kp_detector=lambda sd: {
        k: v for k, v in sd.items() if k != "down.weight"}), tiny_cfg)
    assert "down.weight" in msg and "missing" in msg


def test_truncated_and_foreign_files(tmp_path, tiny_nets, tiny_cfg):
    good = _tiny_ckpt(tmp_path, tiny_nets)
    truncated = tmp_path / "truncated.pth.tar"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert "truncated" in _load_error(truncated, tiny_cfg)
    text = tmp_path / "notes.pth.tar"
    text.write_text("not a checkpoint")
    _load_error(text, tiny_cfg)
    assert "missing" in _load_error(tmp_path / "absent.pth.tar", tiny_cfg)
    torch.save({"state_dict": {}}, tmp_path / "other.pth")
    assert "'generator'" in _load_error(tmp_path / "other.pth", tiny_cfg)
    torch.save([1, 2], tmp_path / "list.pth")
    assert "list" in _load_error(tmp_path / "list.pth", tiny_cfg)


def test_resnet50_depth_files_with_the_18_layer_network(tmp_path):
    enc50 = DepthEncoder(50)
    save_depth_encoder(tmp_path / "encoder50.pth", enc50)
    save_depth_decoder(tmp_path / "depth50.pth", DepthDecoder(enc50.num_ch_enc))
    enc18, dec18 = DepthEncoder(18), DepthDecoder(DepthEncoder(18).num_ch_enc)
    with pytest.raises(WeightsError, match="ResNet-50 depth encoder, but the model expects ResNet-18"):
        load_depth_encoder(tmp_path / "encoder50.pth", enc18)
    with pytest.raises(WeightsError, match="ResNet-50 encoder"):
        load_depth_decoder(tmp_path / "depth50.pth", dec18)
    with pytest.raises(WeightsError, match="holds a depth decoder"):
        load_depth_encoder(tmp_path / "depth50.pth", enc18)
    with pytest.raises(WeightsError, match="holds a depth encoder"):
        load_depth_decoder(tmp_path / "encoder50.pth", dec18)


def test_depth_encoder_without_fc_is_rejected(tmp_path, tiny_nets):
    sd = {k: v for k, v in tiny_nets[2].state_dict().items() if not k.startswith("encoder.fc.")}
    torch.save({**sd, "height": 192, "width": 640, "use_stereo": False}, tmp_path / "encoder.pth")
    with pytest.raises(WeightsError, match="encoder.fc.bias"):
        load_depth_encoder(tmp_path / "encoder.pth", DepthEncoder(18))


def test_checkpoint_loading_is_weights_only(tmp_path, tiny_cfg, capsys):
    class Evil:
        def __reduce__(self):
            return (print, ("executed",))

    torch.save({"generator": Evil(), "kp_detector": {}}, tmp_path / "evil.pth.tar")
    gen, kp, _ = _fresh(tiny_cfg)
    with pytest.raises(WeightsError):
        load_dagan_checkpoint(tmp_path / "evil.pth.tar", gen, kp)
    assert "executed" not in capsys.readouterr().out
