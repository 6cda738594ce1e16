"""LawDNet's training losses against the authors' own train() loops: golden lawdnet_train.*.

tests/data/golden/lawdnet_train.{npz,json} (scripts/make_golden_lawdnet_train.py) hold one step of the authors'
frame- and clip-stage loops on a fixed generator output: every logged loss term, the gradient of their loss_g
w.r.t. that output and two parameters' gradients of each discriminator after its own loss. The same formula
weights (digest checked) go into the kit's VGG19 slices, discriminators and SyncNet and lawdnet.train.losses must
give each term to 1e-4 relative (float32, CPU). Protocol slips (one perceptual scale, one downsampling for both
images, shifted mouth crop, no resize to 256, clip-major stacking) must move the values well past that.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from golden_weights import dagan_state, lawdnet_state, load_golden, state_digest

from lawdnet.modules.discriminator import Discriminator
from lawdnet.modules.syncnet import SyncNet
from lawdnet.train.losses import (
    ClipLosses,
    FrameLosses,
    LossWeights,
    frames_first,
    lsgan,
    mouth_for_syncnet,
    stack_frames,
)
from lawdnet.train.perceptual import Vgg19Features, half_scale, two_scale_perceptual
from talkingface.errors import ConfigError

TOL = 1e-4            # relative error of each loss term
GRAD_TOL = 1e-4       # max |kit - authors| of a gradient over max |authors|
SLIP = 1e-3           # a protocol slip must move the value by more than this (relative)
REGENERATE = "regenerate with scripts/make_golden_lawdnet_train.py (tests/data/golden/README.md)"


@pytest.fixture(scope="module")
def golden():
    return load_golden("lawdnet_train")


@pytest.fixture(scope="module")
def nets(golden):
    """The kit's networks with the formula weights make_golden_lawdnet_train.formula_states wrote."""
    import torchvision

    doc = golden[0]
    sizes = doc["disc_sizes"]
    with torch.device("meta"):
        vgg = torchvision.models.vgg19(weights=None).features
        syncnet = SyncNet(15, 29, 128)
        discs = {"net_dI": Discriminator(3, *sizes), "net_dV": Discriminator(15, *sizes)}
    states = {"vgg19_features": dict(dagan_state("vgg19_features", vgg.state_dict())),
              "syncnet": dict(dagan_state("lawdnet_syncnet", syncnet.state_dict()))}
    for net in ("vgg19_features", "syncnet"):              # conv weights times float32(sqrt 2)
        for t in states[net].values():
            if t.ndim > 1:
                t.mul_(torch.tensor(math.sqrt(2), dtype=torch.float32))
    states.update({n: dict(lawdnet_state(n, d.state_dict())) for n, d in discs.items()})
    assert state_digest(states) == doc["weights"]["state_sha256"], f"the weight formula changed; {REGENERATE}"
    vgg.load_state_dict(states["vgg19_features"], strict=True, assign=True)
    syncnet.load_state_dict(states["syncnet"], strict=True, assign=True)
    for name, d in discs.items():
        d.load_state_dict(states[name], strict=True, assign=True)
    syncnet.requires_grad_(False).eval()
    return {"vgg": Vgg19Features(vgg), "syncnet": syncnet, **discs}


def _images(arrays, name: str) -> torch.Tensor:
    return torch.from_numpy(arrays[name].astype(np.float32) / np.float32(255))


def _rel(ours, theirs) -> float:
    theirs = np.asarray(theirs, np.float64)
    return float(np.abs(np.asarray(ours, np.float64) - theirs).max() / max(np.abs(theirs).max(), 1e-12))


def _step(golden, nets, stage: str) -> dict:
    """The kit's losses of one authors' step: D losses + backward, then G losses + backward w.r.t. the output."""
    doc, arrays = golden
    weights = LossWeights.from_options(doc["weights_options"])
    fake = _images(arrays, f"{stage}/fake_uint8").requires_grad_(True)
    real = _images(arrays, f"{stage}/real_uint8")
    for d in (nets["net_dI"], nets["net_dV"]):
        d.zero_grad(set_to_none=True)
    if stage == "frame":
        losses = FrameLosses(nets["vgg"], nets["net_dI"], weights)
        d = losses.discriminator(fake, real)
        g_args = ()
    else:
        real = frames_first(real)
        losses = ClipLosses(nets["vgg"], nets["net_dI"], nets["net_dV"], nets["syncnet"], weights,
                            mouth_size=doc["mouth"])
        d = losses.discriminator(fake, real)
        g_args = (torch.from_numpy(arrays["clip/deep_speech_full"]),)
    sum(d.values()).backward()
    out = {k: v.item() for k, v in d.items()}
    for name in d:
        net = nets[name.replace("loss_", "net_")]
        params = dict(net.named_parameters())
        out.update({f"grad_{net_name}.{k}": params[k].grad.numpy().copy()
                    for net_name in [name.replace("loss_", "net_")] for k in doc["grad_keys"]})
    g = losses.generator(fake, real, *g_args)
    loss_g = sum(g.values())
    loss_g.backward()
    out.update({k: v.item() for k, v in g.items()})
    out["loss_g"] = loss_g.item()
    grad = fake.grad.numpy()
    if stage == "clip":
        step = doc["clip_grad_step"]
        grad = grad[:, :, ::step, ::step]
    out["grad_fake"] = grad
    return out


@pytest.fixture(scope="module")
def results(golden, nets):
    return {stage: _step(golden, nets, stage) for stage in ("frame", "clip")}


@pytest.mark.parametrize("stage", ["frame", "clip"])
def test_loss_terms_equal_authors(golden, results, stage):
    theirs = golden[0]["losses"][stage]
    expected = {"loss_dI", "loss_g", "loss_img", "loss_g_perception", "loss_g_dI"}
    if stage == "clip":
        expected |= {"loss_dV", "loss_g_dV", "loss_sync"}
    assert set(theirs) == expected
    for name, value in theirs.items():
        assert abs(results[stage][name] - value) <= TOL * abs(value), (name, results[stage][name], value)


@pytest.mark.parametrize("stage", ["frame", "clip"])
def test_gradients_equal_authors(golden, results, stage):
    arrays = golden[1]
    keys = [k.removeprefix(f"{stage}/") for k in arrays if k.startswith(f"{stage}/grad_")]
    assert "grad_fake" in keys and len(keys) == (3 if stage == "frame" else 5)
    for key in keys:
        theirs = arrays[f"{stage}/{key}"]
        assert results[stage][key].shape == theirs.shape, key
        assert np.abs(theirs).max() > 0, key
        assert _rel(results[stage][key], theirs) <= GRAD_TOL, (key, _rel(results[stage][key], theirs))


def test_golden_is_not_trivial(golden):
    losses = golden[0]["losses"]
    for stage, terms in losses.items():
        assert all(v > 1e-3 for v in terms.values()), (stage, terms)
    w = golden[0]["weights_options"]
    assert w["lamb_perception"] != w["lambda_g_dV"] != 1, "distinct weights catch a weight read under another name"


def test_clip_flattening_is_the_authors(golden):
    """Their generator received frames_first(audio): the frame-major (5B, ...) layout of their loop."""
    arrays = golden[1]
    ours = frames_first(torch.from_numpy(arrays["clip/audio"])).numpy()
    np.testing.assert_array_equal(ours, arrays["clip/seen_audio"])
    x = torch.arange(2 * 5 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 5, 3, 2, 2)
    flat = torch.cat(torch.split(x, 1, dim=1), 0).squeeze(1)            # their lines, verbatim
    assert torch.equal(frames_first(x), flat)
    assert torch.equal(stack_frames(flat), torch.cat(torch.split(flat, 2, dim=0), 1))
    assert torch.equal(stack_frames(flat), x.reshape(2, 15, 2, 2))


def _clip_tensors(golden):
    arrays = golden[1]
    fake = _images(arrays, "clip/fake_uint8")
    return fake, torch.from_numpy(arrays["clip/deep_speech_full"])


def test_perceptual_slips_change_the_value(golden, nets):
    doc, arrays = golden
    fake, real = _images(arrays, "frame/fake_uint8"), _images(arrays, "frame/real_uint8")
    w = doc["weights_options"]["lamb_perception"]
    theirs = doc["losses"]["frame"]["loss_g_perception"]
    vgg = nets["vgg"]
    with torch.no_grad():
        ok = two_scale_perceptual(vgg, fake, real).item() * w
        full_only = sum(F.l1_loss(a, b) for a, b in zip(vgg(fake), vgg(real), strict=True)).item() / 5 * w
        same_down = two_scale_perceptual(vgg, fake, real, (half_scale(fake, real)[0], half_scale(real, real)[0]))
        bilinear_both = two_scale_perceptual(vgg, fake, real, (half_scale(real, fake)[1], half_scale(fake, real)[1]))
        no_norm = Vgg19Features(torch.nn.Sequential(*[m for s in vgg.slices for m in s]))
        no_norm.mean.zero_(), no_norm.std.fill_(1.0)
        unnormalised = two_scale_perceptual(no_norm, fake, real).item() * w
    assert abs(ok - theirs) <= TOL * theirs
    slips = {"full resolution only": full_only, "avg-pool for both": same_down.item() * w,
             "bilinear for both": bilinear_both.item() * w, "no ImageNet normalisation": unnormalised}
    for name, slip in slips.items():
        assert abs(slip - theirs) > SLIP * theirs, name


@pytest.mark.slow
def test_sync_slips_change_the_value(golden, nets):
    """On the first clip (the golden covers the value on both): crop rows / columns, resize, stacking order."""
    doc = golden[0]
    fake, audio = _clip_tensors(golden)
    m = doc["mouth"]
    stacked = stack_frames(fake)[:1]

    def sync(mouth):
        with torch.no_grad():
            score = nets["syncnet"](mouth, audio[:1])
        return F.mse_loss(score, torch.ones_like(score)).item()

    def crop(x, top, left):
        return F.interpolate(x[:, :, top:top + m, left:left + m], size=(256, 256), mode="bilinear")

    ok = sync(mouth_for_syncnet(stacked, m))
    assert ok == pytest.approx(sync(crop(stacked, m // 2, m // 8)), rel=1e-6)
    clip_major = fake.reshape(2, 15, *fake.shape[2:])[:1]
    slips = {"rows shifted by 4": sync(crop(stacked, m // 2 + 4, m // 8)),
             "columns from 0": sync(crop(stacked, m // 2, 0)),
             "no resize to 256": sync(stacked[:, :, m // 2:m // 2 + m, m // 8:m // 8 + m]),
             "clip-major stacking": sync(mouth_for_syncnet(clip_major, m))}
    for name, slip in slips.items():
        assert abs(slip - ok) > SLIP * ok, (name, slip, ok)


def test_dv_slip_changes_the_value(golden, nets):
    """net_dV sees frame f of clip b from rows f * B + b; stacking consecutive rows instead is a different loss."""
    doc = golden[0]
    fake, _ = _clip_tensors(golden)
    theirs = doc["losses"]["clip"]["loss_g_dV"] / doc["weights_options"]["lambda_g_dV"]
    with torch.no_grad():
        ok = lsgan(nets["net_dV"](stack_frames(fake))[1], True).item()
        slip = lsgan(nets["net_dV"](fake.reshape(2, 15, *fake.shape[2:]))[1], True).item()
    assert abs(ok - theirs) <= TOL * theirs
    assert abs(slip - theirs) > SLIP * theirs


def test_mouth_256_is_not_resized():
    x = torch.rand(1, 15, 416, 320)
    out = mouth_for_syncnet(x, 256)
    assert out.shape == (1, 15, 256, 256) and torch.equal(out, x[:, :, 128:384, 32:288])
    assert mouth_for_syncnet(torch.rand(1, 15, 468, 360), 288).shape == (1, 15, 256, 256)


def test_weights_and_bad_inputs():
    assert LossWeights() == LossWeights.from_options({"lamb_perception": 10, "lamb_syncnet_perception": 0.1,
                                                      "lambda_img": 1, "lambda_g_dI": 1, "lambda_g_dV": 1})
    with pytest.raises(ConfigError, match="lamb_percept"):
        LossWeights.from_options({"lamb_percept": 1})
    with pytest.raises(ConfigError, match="must be >= 0"):
        LossWeights(img=-1)
    with pytest.raises(ConfigError, match="mouth_size 128"):
        mouth_for_syncnet(torch.rand(1, 15, 104, 80), 128)
    with pytest.raises(ValueError, match="5 frames per clip"):
        stack_frames(torch.rand(4, 3, 8, 8))
    net_d = Discriminator(3, 4, 2, 8)
    losses = ClipLosses(torch.nn.Identity(), net_d, Discriminator(15, 4, 2, 8), torch.nn.Identity(), mouth_size=8)
    with pytest.raises(ValueError, match=r"deep_speech_full must be \(1, 29, 9\)"):
        losses.generator(torch.rand(5, 3, 13, 10), torch.rand(5, 3, 13, 10), torch.rand(1, 29, 5))
    with pytest.raises(ValueError, match="fake and real"):
        FrameLosses(torch.nn.Identity(), net_d).generator(torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 9))


def test_discriminator_loss_detaches_the_output(golden, nets):
    """The D loss gives no gradient to the generator output; VGG and SyncNet are frozen."""
    arrays = golden[1]
    fake = _images(arrays, "frame/fake_uint8").requires_grad_(True)
    real = _images(arrays, "frame/real_uint8")
    net_dI = Discriminator(3, 4, 2, 8)
    losses = FrameLosses(nets["vgg"], net_dI)
    losses.discriminator(fake, real)["loss_dI"].backward()
    assert fake.grad is None and net_dI.conv.weight.grad is not None
    assert all(not p.requires_grad for p in nets["vgg"].parameters())
    assert all(not p.requires_grad for p in nets["syncnet"].parameters())
