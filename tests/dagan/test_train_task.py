"""DaGAN training: the config edits of the authors' run.py, the checkpoint payload in their format, the CLI's errors.

The references: the authors' ``run.py`` (its flag edits, written out below as they are in it), the published
checkpoint's layout (tests/data/layouts, names and shapes read from the authors' file) and their ``demo.py`` load
rule (``k.replace('module.', '')`` then a strict ``load_state_dict``).
"""
from __future__ import annotations

import json
from collections import OrderedDict

import pytest
import torch

from dagan.cli.train import main as train_main
from dagan.config import DaganConfig
from dagan.train.options import TrainOptions, resolve_config
from dagan.train.run import build_trained, kp_channels
from dagan.train.step import DaganNets, DaganTask, make_optimizers


def test_run_py_flag_edits():
    cfg = resolve_config(TrainOptions())
    w = cfg.train_params.loss_weights
    assert (w["kp_distance"], w["depth_constraint"], w["kp_prior"]) == (10, 0, 0)
    assert cfg.train_params.lr_generator == 2e-4 and cfg.model_params.common_params.num_kp == 15
    cfg = resolve_config(TrainOptions(kp_prior=True, depth_constraint=3, batchsize=12, kp_num=10))
    w = cfg.train_params.loss_weights
    # run.py: `if opt.kp_prior: kp_distance = 0; kp_prior = 10`
    assert (w["kp_distance"], w["kp_prior"], w["depth_constraint"]) == (0, 10, 3)
    assert cfg.train_params.batch_size == 12 and cfg.model_params.common_params.num_kp == 10


def test_fine_tuning_lowers_the_learning_rate_unless_given():
    t = resolve_config(TrainOptions(init="x.pth.tar")).train_params
    assert (t.lr_generator, t.lr_discriminator, t.lr_kp_detector) == pytest.approx((2e-5, 2e-5, 2e-5))
    t = resolve_config(TrainOptions(init="x.pth.tar", lr=1e-4)).train_params
    assert t.lr_generator == 1e-4 and t.lr_kp_detector == 1e-4


def test_keypoint_detector_channels_per_mode():
    cfg = DaganConfig()
    assert [kp_channels(cfg, m) for m in ("rgbd", "depth", "rgb")] == [4, 1, 3]


def _task(cfg: DaganConfig) -> DaganTask:
    generator, kp_detector, discriminator = build_trained(cfg, "rgbd")
    nets = DaganNets(generator, kp_detector, discriminator, torch.nn.Identity(), torch.nn.Identity(), None)
    return DaganTask(nets, cfg, torch.nn.Identity(), torch.nn.Identity(), make_optimizers(nets, cfg))


def test_checkpoint_payload_has_the_published_layout_and_loads_like_demo_py(layouts_dir, tmp_path):
    from dagan.checkpoint import load_dagan_checkpoint
    from dagan.model import build_generator, build_kp_detector

    cfg = DaganConfig()
    payload = _task(cfg).state_dict(epoch=9)
    assert set(payload) == {"generator", "kp_detector", "discriminator", "optimizer_generator",
                            "optimizer_discriminator", "optimizer_kp_detector", "scheduler_generator",
                            "scheduler_discriminator", "scheduler_kp_detector", "epoch"}
    assert payload["epoch"] == 9
    for name in ("generator", "kp_detector"):
        layout = json.loads((layouts_dir / f"dagan_{name}.json").read_text())
        # demo.py: OrderedDict((k.replace('module.', ''), v) ...) then load_state_dict (strict)
        demo = OrderedDict((k.replace("module.", ""), v) for k, v in payload[name].items())
        assert all(k.startswith("module.") for k in payload[name])          # as their DDP runs write
        assert {k: list(v.shape) for k, v in demo.items()} == {k: v["shape"] for k, v in layout.items()}
    path = tmp_path / "00000009-checkpoint.pth.tar"
    torch.save(payload, path)
    load_dagan_checkpoint(path, build_generator(cfg), build_kp_detector(cfg))


def test_payload_round_trip_restores_networks_and_optimisers(tiny_cfg):
    cfg = tiny_cfg
    a, b = _task(cfg), _task(cfg)
    for p in a.nets.generator.parameters():
        p.grad = torch.ones_like(p)
    a.optimizers["generator"].step()
    b.load_state_dict(a.state_dict(epoch=0))
    restored = b.nets.generator.state_dict()
    for key, value in a.nets.generator.state_dict().items():
        assert torch.equal(value, restored[key])
    assert b.optimizers["generator"].state_dict()["state"].keys() == a.optimizers["generator"].state_dict()[
        "state"].keys()


@pytest.mark.parametrize("argv, message", [
    (["--generator", "SPADEDepthAwareGenerator"], "SPADEDepthAwareGenerator is not supported"),
    (["--checkpoint", "a.pth.tar", "--init", "b.pth.tar"], "exclude each other"),
    (["--set", "train_params.no_such_key=1"], "unknown key(s) no_such_key"),
    (["--batchsize", "0"], "--batchsize must be at least 1"),
    (["--random_frozen", "0", "--vgg19", "v.pth"], "--random_frozen replaces"),
])
def test_cli_refuses_bad_flags_in_one_line(argv, message, capsys, tmp_path):
    code = train_main([*argv, "--log_dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code != 0 and message in err and len(err.strip().splitlines()) == 1, err
