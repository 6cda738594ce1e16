"""LawDNet / DINet / SyncNet checkpoints: the authors' formats load strictly and safely; bad files give one line."""
from __future__ import annotations

import zipfile

import pytest
import torch

from lawdnet.checkpoint import load_generator, load_syncnet, save_checkpoint, save_syncnet
from lawdnet.modules.discriminator import Discriminator
from lawdnet.random_weights import randomise_weights, write_random_generator, write_random_syncnet
from talkingface.errors import WeightsError


@pytest.fixture(scope="module")
def lawdnet_file(tmp_path_factory):
    return write_random_generator(tmp_path_factory.mktemp("ckpt") / "checkpoint_epoch_170.pth", seed=1)


@pytest.fixture(scope="module")
def dinet_file(tmp_path_factory):
    return write_random_generator(tmp_path_factory.mktemp("ckpt") / "netG_model_epoch_9.pth", model="dinet",
                                  kind="netG_model_epoch", seed=2)


def _one_line(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text
    return text


def test_checkpoint_epoch_has_the_authors_nesting(lawdnet_file):
    ckpt = torch.load(lawdnet_file, weights_only=True)
    assert ckpt["epoch"] == 1 and set(ckpt) == {"epoch", "state_dict", "optimizer", "scheduler"}
    assert set(ckpt["state_dict"]) == {"net_g", "net_dI", "net_dV"}
    assert all(k.startswith("module.") for net in ckpt["state_dict"].values() for k in net)
    net = load_generator(lawdnet_file)
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    for k, v in net.state_dict().items():
        assert torch.equal(v, ckpt["state_dict"]["net_g"]["module." + k]), k


def test_both_formats_with_and_without_prefix_give_the_same_output(lawdnet_file, tmp_path):
    ref = load_generator(lawdnet_file)
    state = {k.removeprefix("module."): v for k, v in torch.load(lawdnet_file)["state_dict"]["net_g"].items()}
    plain = tmp_path / "netG_model_epoch_9.pth"
    torch.save({"epoch": 10, "state_dict": {"net_g": state, "net_dI": Discriminator(3).state_dict()},
                "optimizer": {}}, plain)
    other = load_generator(plain)
    inputs = (torch.rand(1, 3, 104, 80), torch.rand(1, 15, 104, 80), torch.randn(1, 29, 5))
    with torch.no_grad():
        a, b = ref(*inputs), other(*inputs)
    assert torch.equal(a, b) and float(a.std()) > 0.02


def test_a_file_written_like_the_authors_loads_safely(tmp_path):
    """Real AdamW moments and LambdaLR state (lr_lambdas), saved with plain torch.save as their training does."""
    with torch.random.fork_rng(devices=[]):
        from lawdnet.checkpoint import build_generator
        nets = {"net_g": build_generator("lawdnet"), "net_dI": Discriminator(3), "net_dV": Discriminator(15)}
    opts = {n: torch.optim.AdamW(m.parameters(), lr=1e-4) for n, m in nets.items()}
    scheds = {n: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1.0 - max(0, e - 85) / float(85 + 1))
              for n, o in opts.items()}
    for name, net in nets.items():
        if name == "net_g":
            out = net(torch.rand(1, 3, 104, 80), torch.rand(1, 15, 104, 80), torch.randn(1, 29, 5))
        else:
            out = net(torch.rand(1, 3 if name == "net_dI" else 15, 64, 64))[1]
        out.mean().backward()
        opts[name].step()
        scheds[name].step()
    path = tmp_path / "checkpoint_epoch_170.pth"
    torch.save({"epoch": 171, "state_dict": {n: torch.nn.DataParallel(m).state_dict() for n, m in nets.items()},
                "optimizer": {n: o.state_dict() for n, o in opts.items()},
                "scheduler": {n: s.state_dict() for n, s in scheds.items()}}, path)
    assert load_generator(path).state_dict()["out_conv.4.weight"].equal(nets["net_g"].state_dict()["out_conv.4.weight"])
    save_checkpoint(tmp_path / "ours.pth", *nets.values(), epoch=170, optimizers=opts, schedulers=scheds)
    ours = torch.load(tmp_path / "ours.pth", weights_only=True)
    assert ours["epoch"] == 171 and ours["scheduler"]["net_g"]["last_epoch"] == 1
    assert ours["optimizer"]["net_dV"]["state"][0]["exp_avg"].shape == (128, 15, 4, 4)


def test_dinet_loads_with_model_dinet_only(dinet_file):
    net = load_generator(dinet_file, model="dinet")
    assert type(net).__name__ == "DINet" and not net.training
    with pytest.raises(WeightsError) as exc:
        load_generator(dinet_file)
    assert "looks like DINet" in _one_line(exc) and "--model dinet" in str(exc.value)


def test_lawdnet_file_given_as_dinet(lawdnet_file):
    with pytest.raises(WeightsError, match="looks like LawDNet.*--model lawdnet"):
        load_generator(lawdnet_file, model="dinet")


def test_syncnet_round_trip_and_confusions(tmp_path, lawdnet_file):
    path = write_random_syncnet(tmp_path / "syncnet_256mouth.pth", seed=3)
    ckpt = torch.load(path, weights_only=True)
    assert list(ckpt) == ["state_dict"] and list(ckpt["state_dict"]) == ["net"]
    assert not any(k.startswith("module.") for k in ckpt["state_dict"]["net"])
    net = load_syncnet(path)
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    assert save_syncnet(tmp_path / "again.pth", net).exists()
    with pytest.raises(WeightsError) as exc:
        load_generator(path)
    assert "SyncNet" in _one_line(exc)
    with pytest.raises(WeightsError) as exc:
        load_syncnet(lawdnet_file)
    assert "generator checkpoint" in _one_line(exc)


def _bad_files(tmp_path, lawdnet_file):
    full = torch.load(lawdnet_file)
    g = full["state_dict"]["net_g"]
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(lawdnet_file.read_bytes()[:100_000])
    cases = {"truncated": (truncated, "truncated or damaged")}
    for name, obj, expect in (
        ("no_state_dict", {"epoch": 1, "net_g": g}, "no 'state_dict'"),
        ("bare_state_dict", dict(g), "bare state dict"),
        ("no_net_g", {"state_dict": {"net_dI": {}}}, "no 'net_g'"),
        ("a_list", [1, 2], "found a list"),
        ("missing_key", {"state_dict": {"net_g": {k: v for k, v in g.items() if "fc.weight" not in k}}},
         "1 missing key(s): cross_attention.output_reshape.fc.weight"),
        ("unexpected_key", {"state_dict": {"net_g": {**g, "module.extra.weight": torch.zeros(1)}}},
         "1 unexpected key(s): extra.weight"),
        ("wrong_shape", {"state_dict": {"net_g": {**g, "module.out_conv.4.bias": torch.zeros(4)}}},
         "shape mismatch"),
    ):
        path = tmp_path / f"{name}.pth"
        torch.save(obj, path)
        cases[name] = (path, expect)
    return cases


def test_bad_files_give_one_line(tmp_path, lawdnet_file):
    for name, (path, expect) in _bad_files(tmp_path, lawdnet_file).items():
        with pytest.raises(WeightsError) as exc:
            load_generator(path)
        text = _one_line(exc)
        assert expect in text and str(path) in text, (name, text)


def test_unsafe_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"net_g": {}}, "optimizer": zipfile.ZipInfo("x")}, path)
    with pytest.raises(WeightsError, match="weights_only"):
        load_generator(path)


def test_random_weights_are_seeded_and_leave_the_rng_alone(tmp_path):
    state = torch.random.get_rng_state()
    a = write_random_generator(tmp_path / "a.pth", model="dinet", kind="netG_model_epoch", seed=5)
    b = write_random_generator(tmp_path / "b.pth", model="dinet", kind="netG_model_epoch", seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)
    sa, sb = (torch.load(p)["state_dict"] for p in (a, b))
    assert set(sa) == {"net_g", "net_dI"} and all(torch.equal(sa["net_g"][k], sb["net_g"][k]) for k in sa["net_g"])
    net = randomise_weights(Discriminator(3), seed=1)
    assert not net.training
