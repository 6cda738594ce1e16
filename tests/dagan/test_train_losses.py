"""DaGAN's training losses against the authors' GeneratorFullModel / DiscriminatorFullModel: golden dagan_train.*.

tests/data/golden/dagan_train.{npz,json} (scripts/make_golden_train.py) hold, per case (mode, loss weights, seed),
every loss term, a few parameter gradients after the authors' train.py backward passes and the random warp's draws.
Here the same formula weights (digest checked) go into the kit's networks and dagan.train.losses. In float32 each
loss term must equal the authors' to 1e-4 relative; float32 gradients differ by rounding alone up to ~1e-3 of their
largest entry (batch-2 BatchNorm and sharp heatmaps amplify it), so they get 1e-2, and the paper case is also
compared in float64, where losses and gradients must agree to 1e-9 (measured: ~1e-14).
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from golden_dagan_train import MODE_CHANNELS, formula_states
from golden_weights import load_golden, state_digest

from dagan.config import load_dagan_config
from dagan.model import build_depth_network, build_discriminator, build_generator
from dagan.modules.keypoint_detector import KPDetector
from dagan.train import DiscriminatorLoss, GeneratorLoss, RandomTPS, Vgg19Features
from dagan.train.perceptual import ImagePyramid, perceptual_loss
from talkingface.errors import ConfigError

TOL = 1e-4            # relative error of each loss term (float32)
GRAD_TOL = 1e-2       # max |kit - authors| of a float32 gradient over max |authors| (measured <= 1.6e-3)
F64_TOL = 1e-9        # the same two measures in float64
REGENERATE = "regenerate with scripts/make_golden_train.py (tests/data/golden/README.md)"


@pytest.fixture(scope="module")
def golden():
    return load_golden("dagan_train")


def _cfg(doc: dict, case: str | None = None):
    train = copy.deepcopy(doc["train_params"])
    if case is not None:
        train["loss_weights"].update(doc["cases"][case]["loss_weight_overrides"])
    return load_dagan_config({"model_params": copy.deepcopy(doc["model_params"]),
                              "depth_params": {"num_layers": doc["depth_layers"]}, "train_params": train})


@pytest.fixture(scope="module")
def states(golden):
    """The formula weights make_golden_train.formula_states wrote (same networks, names and VGG gain)."""
    out = formula_states(_cfg(golden[0]), np.sqrt(2.0))
    assert state_digest(out) == golden[0]["weights"]["state_sha256"], f"the weight formula changed; {REGENERATE}"
    return out


def _vgg(states) -> Vgg19Features:
    import torchvision

    with torch.device("meta"):
        features = torchvision.models.vgg19(weights=None).features
    features.load_state_dict(states["vgg19_features"], strict=True, assign=True)
    return Vgg19Features(features)


def _networks(doc: dict, states: dict, mode: str):
    """(kp_detector, generator, discriminator, depth_encoder, depth_decoder) with the formula weights, train mode."""
    cfg = _cfg(doc)
    k, c = cfg.model_params.kp_detector_params, cfg.model_params.common_params
    kp = KPDetector(block_expansion=k.block_expansion, num_kp=c.num_kp, num_channels=MODE_CHANNELS[mode],
                    max_features=k.max_features, num_blocks=k.num_blocks, temperature=k.temperature,
                    estimate_jacobian=c.estimate_jacobian, scale_factor=k.scale_factor)
    encoder, decoder = build_depth_network(cfg)
    nets = (kp, build_generator(cfg), build_discriminator(cfg), encoder, decoder)
    names = (f"kp_detector_{mode}", "generator", "discriminator", "depth_encoder", "depth_decoder")
    for net, name in zip(nets, names, strict=True):
        net.load_state_dict(states[name], strict=True)
        net.train()
    return nets


def _inputs(arrays, dtype=np.float32) -> tuple[torch.Tensor, torch.Tensor]:
    return tuple(torch.from_numpy(arrays[f"{n}_uint8"].astype(dtype) / 255) for n in ("source", "driving"))


def _run_case(golden, states, case: str, vgg=None, double: bool = False) -> dict[str, np.ndarray]:
    """One training step as the authors' train.py: G losses, backward; D grads zeroed, D loss, backward."""
    doc, arrays = golden
    spec = doc["cases"][case]
    kp, gen, disc, enc, dec = _networks(doc, states, spec["mode"])
    vgg = vgg or _vgg(states)
    if double:
        for net in (kp, gen, disc, enc, dec, vgg):
            net.double()
    cfg = _cfg(doc, case)
    gen_loss = GeneratorLoss(kp, gen, disc, enc, dec, vgg, cfg.train_params, mode=spec["mode"])
    source, driving = _inputs(arrays, np.float64 if double else np.float32)
    torch.manual_seed(spec["seed"])
    losses, generated = gen_loss(source, driving)
    out = {f"loss_{k}": v.detach().double().numpy() for k, v in losses.items()}
    sum(v.mean() for v in losses.values()).backward()
    disc.zero_grad()
    disc_losses = DiscriminatorLoss(disc, cfg.train_params)(driving, generated)
    sum(disc_losses.values()).backward()
    out["loss_disc_gan"] = disc_losses["disc_gan"].detach().double().numpy()
    nets = {"kp_detector": kp, "generator": gen, "discriminator": disc}
    for net, keys in doc["grad_keys"].items():
        params = dict(nets[net].named_parameters())
        out.update({f"grad_{net}.{k}": params[k].grad.numpy().copy() for k in keys})
    out["prediction"] = generated["prediction"].detach().numpy()
    out["transformed_frame"] = generated["transformed_frame"].detach().numpy()
    out["frozen_ok"] = np.array(not enc.training and not dec.training
                                and all(p.grad is None and not p.requires_grad for p in enc.parameters()))
    return out


@pytest.fixture(scope="module")
def results(golden, states):
    vgg = _vgg(states)
    return {case: _run_case(golden, states, case, vgg) for case in golden[0]["cases"]}


def _rel(ours, theirs) -> float:
    return float(np.abs(np.asarray(ours, np.float64) - theirs).max() / max(np.abs(theirs).max(), 1e-12))


def test_golden_is_not_trivial(golden):
    """Every loss term is non-zero in some case (kp_distance too), and every kept gradient is non-zero."""
    doc, arrays = golden
    nonzero = {k for losses in doc["losses"].values() for k, v in losses.items() if abs(v) > 1e-3}
    assert nonzero >= {"perceptual", "gen_gan", "feature_matching", "equivariance_value", "equivariance_jacobian",
                       "kp_distance", "kp_scale", "depth_constraint", "disc_gan"}
    grads = [k for k in arrays if "/grad_" in k]
    assert grads and all(np.abs(arrays[k]).max() > 0 for k in grads)
    assert doc["authors"]["repository"] == "harlanhong/CVPR2022-DaGAN" and len(doc["authors"]["commit"]) == 40


@pytest.mark.parametrize("case", ["paper", "extras", "kp_prior_flag", "rgb", "depth"])
def test_warp_draws_equal_authors(golden, case):
    doc, arrays = golden
    torch.manual_seed(doc["cases"][case]["seed"])
    warp = RandomTPS.draw(2, **doc["train_params"]["transform_params"])
    np.testing.assert_array_equal(warp.theta.numpy(), arrays[f"{case}/transform_theta"])
    np.testing.assert_array_equal(warp.control_params.numpy(), arrays[f"{case}/transform_control_params"])


@pytest.mark.parametrize("case", ["paper", "extras", "kp_prior_flag", "rgb", "depth"])
def test_loss_terms_equal_authors(golden, results, case):
    doc, _ = golden
    ours = {k.removeprefix("loss_"): float(v) for k, v in results[case].items() if k.startswith("loss_")}
    theirs = doc["losses"][case]
    assert sorted(ours) == sorted(theirs)
    bad = {k: (ours[k], v) for k, v in theirs.items()
           if abs(ours[k] - v) > TOL * max(abs(v), 1e-6)}
    assert not bad, f"{case}: loss terms (kit, authors) differ by more than {TOL} relative: {bad}"


@pytest.mark.parametrize("case", ["paper", "extras", "kp_prior_flag", "rgb", "depth"])
def test_gradients_equal_authors(golden, results, case):
    _, arrays = golden
    keys = [k for k in arrays if k.startswith(f"{case}/grad_")]
    assert len(keys) == 7
    errors = {k: _rel(results[case][k.split("/", 1)[1]], arrays[k]) for k in keys}
    assert max(errors.values()) <= GRAD_TOL, errors


def test_float64_losses_and_gradients_equal_authors(golden, states):
    doc, arrays = golden
    case = doc["kept_full"]
    ours = _run_case(golden, states, case, double=True)
    for name, theirs in doc["losses_float64"][case].items():
        assert abs(float(ours[f"loss_{name}"]) - theirs) <= F64_TOL * max(abs(theirs), 1e-6), name
    keys = [k for k in arrays if k.startswith(f"{case}_float64/grad_")]
    assert len(keys) == 7
    errors = {k: _rel(ours[k.split("/", 1)[1]], arrays[k]) for k in keys}
    assert max(errors.values()) <= F64_TOL, errors


def test_prediction_and_warped_frame_equal_authors(golden, results):
    doc, arrays = golden
    case = doc["kept_full"]
    for name in ("prediction", "transformed_frame"):
        assert float(np.abs(results[case][name] - arrays[f"{case}/{name}"]).max()) <= 1e-5, name


def test_kp_prior_flag_contributes_zero(golden, results):
    """The authors' --kp_prior (kp_distance 0, kp_prior 10): the prior is weighted by kp_distance, so it is 0."""
    assert float(results["kp_prior_flag"]["loss_kp_distance"]) == 0.0
    assert golden[0]["losses"]["kp_prior_flag"]["kp_distance"] == 0.0


def test_depth_network_stays_frozen(results):
    assert all(bool(r["frozen_ok"]) for r in results.values())


def test_protocol_slips_change_the_perceptual_loss(golden, states):
    """Without ImageNet normalisation, or with the pyramid's scales wrong, the perceptual value is not the
    authors' (so the golden comparison above does check those details)."""
    doc, arrays = golden
    source, driving = _inputs(arrays)
    fake = torch.flip(driving, dims=[0])          # a second image set to compare against
    weights, scales = doc["train_params"]["loss_weights"]["perceptual"], doc["train_params"]["scales"]

    def value(vgg, pyramid_scales, loss_scales):
        pyramid = ImagePyramid(pyramid_scales, 3)
        with torch.no_grad():
            return float(perceptual_loss(vgg, pyramid(fake), pyramid(driving), loss_scales, weights))

    vgg = _vgg(states)
    right = value(vgg, scales, scales)
    unnormalised = _vgg(states)
    unnormalised.normalise = False
    assert abs(value(unnormalised, scales, scales) - right) > 1e-2 * right
    assert abs(value(vgg, scales[:-1], scales[:-1]) - right) > 1e-2 * right
    plain = {f"prediction_{s}": torch.nn.functional.interpolate(x, scale_factor=s, mode="bilinear")
             for s in scales for x in [fake]}
    plain_real = {f"prediction_{s}": torch.nn.functional.interpolate(driving, scale_factor=s, mode="bilinear")
                  for s in scales}
    with torch.no_grad():
        naive = float(perceptual_loss(vgg, plain, plain_real, scales, weights))
    assert abs(naive - right) > 1e-3 * right, "a bilinear pyramid should differ from the anti-aliased one"


def test_bad_settings_are_config_errors(golden, states):
    doc, _ = golden
    kp, gen, disc, enc, dec = _networks(doc, states, "rgbd")
    cfg = _cfg(doc)
    with pytest.raises(ConfigError, match="feeds the keypoint detector 3 channels"):
        GeneratorLoss(kp, gen, disc, enc, dec, None, cfg.train_params, mode="rgb")
    with pytest.raises(ConfigError, match="mode must be one of"):
        GeneratorLoss(kp, gen, disc, enc, dec, None, cfg.train_params, mode="RGBD")
    with pytest.raises(ConfigError, match="no VGG19"):
        GeneratorLoss(kp, gen, disc, enc, dec, None, cfg.train_params)
    cfg.train_params.loss_weights.pop("kp_scale")
    with pytest.raises(ConfigError, match="missing kp_scale"):
        DiscriminatorLoss(disc, cfg.train_params)


def test_build_vgg19(tmp_path):
    """Random weights without a file (frozen, eval even after .train()); a file that is not torchvision's VGG19
    state dict is one WeightsError naming it."""
    from dagan.train import build_vgg19
    from talkingface.errors import WeightsError

    vgg = build_vgg19(None).train()
    assert not vgg.training and not any(p.requires_grad for p in vgg.parameters())
    assert [m.shape[1] for m in vgg(torch.rand(1, 3, 32, 32))] == [64, 128, 256, 512, 512]
    bad = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, bad)
    with pytest.raises(WeightsError, match="vgg19-dcbb9e9d.pth.*missing key"):
        build_vgg19(bad)
