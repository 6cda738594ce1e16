"""Runs the DaGAN authors' GeneratorFullModel / DiscriminatorFullModel (a checkout of harlanhong/CVPR2022-DaGAN) on
CPU, for make_golden_train.py.

Their ``modules/model.py`` is imported as a module; their KPDetector, DepthAwareGenerator, MultiScaleDiscriminator
and depth ResnetEncoder / DepthDecoder are built from their classes, filled with the given state dicts, and one
training step's losses are computed exactly as their ``train.py`` does (networks in train mode, losses summed as
``sum(v.mean())``, backward, then the discriminator's gradients zeroed and its loss backward). What had to be
stubbed is in ``STUBS`` (nothing of the computation: CUDA calls, downloads, the hard-coded depth size and paths,
the DDP wrappers and the CLI namespace).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import types
from pathlib import Path

STUBS = [
    "torch.cuda.is_available() -> False, torch.nn.Module.cuda / torch.Tensor.cuda -> no-ops while the models are "
    "built and run: GeneratorFullModel calls .cuda() unconditionally (depth net, torch.eye in kp_distance); on "
    "CPU these are the identity",
    "modules.model.models.vgg19(pretrained=True) -> torchvision vgg19(weights=None) whose `features` are loaded with "
    "the given state dict (formula weights; no ImageNet download)",
    "modules.model.depth.ResnetEncoder(50, False) -> depth.ResnetEncoder(<num_layers>, False): the depth variant is "
    "a setting (HEAD hard-codes 50 since commit adeea3a; the published model uses 18)",
    "working directory: a temporary folder holding depth/models/depth_face_model_Voxceleb2_10w/{encoder,depth}.pth "
    "(the paths GeneratorFullModel loads, relative to the working directory), written from the given depth "
    "weights by the kit's savers; their own loading lines (filter to the model's keys, load_state_dict) run",
    "generator and discriminator wrapped in a module holding them as `.module` (what DistributedDataParallel "
    "provides: GeneratorFullModel reads generator.module.num_channels and discriminator.module.scales); forward "
    "passes straight through",
    "opt = Namespace(rgbd=..., use_depth=...): the CLI flags GeneratorFullModel reads (--rgbd for the paper)",
]
AUTHORS_FILES = ["modules/model.py", "modules/generator.py", "modules/keypoint_detector.py",
                 "modules/discriminator.py", "modules/dense_motion.py", "modules/util.py", "modules/AdaIN.py",
                 "modules/dynamic_conv.py", "depth/resnet_encoder.py", "depth/depth_decoder.py", "depth/layers.py",
                 "sync_batchnorm/"]
DEPTH_DIR = "depth/models/depth_face_model_Voxceleb2_10w"
#: parameters whose gradients the golden keeps (the same keys in the kit's networks)
GRAD_KEYS = {"kp_detector": ["predictor.encoder.down_blocks.0.conv.weight", "kp.weight", "jacobian.weight"],
             "generator": ["first.conv.weight", "final.weight"],
             "discriminator": ["discs.1.down_blocks.0.conv.weight", "discs.1.conv.weight"]}


def _wrap(module):
    import torch

    class DDPStandIn(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.module = inner

        def forward(self, *args, **kwargs):
            return self.module(*args, **kwargs)

    return DDPStandIn(module)


@contextlib.contextmanager
def _authors_env(repo: Path, work: Path):
    """The authors' repository first on sys.path, ``work`` as the working directory, CUDA calls as no-ops."""
    import torch

    old_cwd, old_path = os.getcwd(), list(sys.path)
    saved = (torch.cuda.is_available, torch.nn.Module.cuda, torch.Tensor.cuda)
    sys.path.insert(0, str(repo))
    os.chdir(work)
    torch.cuda.is_available = lambda: False
    torch.nn.Module.cuda = lambda self, *a, **k: self
    torch.Tensor.cuda = lambda self, *a, **k: self
    try:
        yield
    finally:
        torch.cuda.is_available, torch.nn.Module.cuda, torch.Tensor.cuda = saved
        os.chdir(old_cwd)
        sys.path[:] = old_path


def _write_depth_files(work: Path, states: dict, num_layers: int) -> None:
    from dagan.checkpoint import save_depth_decoder, save_depth_encoder
    from dagan.modules.depth_decoder import DepthDecoder
    from dagan.modules.depth_encoder import DepthEncoder

    encoder = DepthEncoder(num_layers)
    encoder.load_state_dict(states["depth_encoder"], strict=True)
    decoder = DepthDecoder(encoder.num_ch_enc, scales=range(4))
    decoder.load_state_dict(states["depth_decoder"], strict=True)
    folder = work / DEPTH_DIR
    folder.mkdir(parents=True, exist_ok=True)
    save_depth_encoder(folder / "encoder.pth", encoder)
    save_depth_decoder(folder / "depth.pth", decoder)


def _networks(model_params: dict, kp_channels: int, states: dict):
    """The authors' networks (their classes, as run.py builds them) filled strictly with ``states``."""
    import modules.discriminator as disc_mod
    import modules.generator as gen_mod
    import modules.keypoint_detector as kpd_mod

    common = dict(model_params["common_params"])
    generator = gen_mod.DepthAwareGenerator(**model_params["generator_params"], **common)
    discriminator = disc_mod.MultiScaleDiscriminator(**model_params["discriminator_params"], **common)
    kp_detector = kpd_mod.KPDetector(**model_params["kp_detector_params"], **{**common, "num_channels": kp_channels})
    for net, name in ((generator, "generator"), (discriminator, "discriminator"), (kp_detector, "kp_detector")):
        net.load_state_dict(states[name], strict=True)
        net.train()                                  # train.py: generator.train(), discriminator.train(), ...
    return generator, discriminator, kp_detector


def _patch_model_module(model_module, vgg_state: dict, num_layers: int) -> None:
    import depth as real_depth  # the authors' depth package
    import torchvision

    def vgg19(pretrained=False, **_):
        net = torchvision.models.vgg19(weights=None)
        net.features.load_state_dict(vgg_state, strict=True)
        return net

    model_module.models = types.SimpleNamespace(vgg19=vgg19)
    model_module.depth = types.SimpleNamespace(
        ResnetEncoder=lambda _layers, pretrained: real_depth.ResnetEncoder(num_layers, pretrained),
        DepthDecoder=real_depth.DepthDecoder)


def run_case(repo: Path, work: Path, model_params: dict, train_params: dict, mode: str, states: dict,
             num_layers: int, source, driving, seed: int, double: bool = False) -> dict:
    """One training step's losses and gradients by the authors' code (``double``: every module in float64, for
    telling rounding from real differences). ``states``: state dicts
    of ``generator``, ``discriminator``, ``kp_detector`` (for this mode's channels), ``depth_encoder``,
    ``depth_decoder``, ``vgg19_features``. Returns numpy arrays."""
    import torch

    repo, work = Path(repo).resolve(), Path(work).resolve()
    _write_depth_files(work, states, num_layers)
    with _authors_env(repo, work):
        import modules.model as model_module

        _patch_model_module(model_module, states["vgg19_features"], num_layers)
        channels = {"rgbd": 4, "depth": 1, "rgb": 3}[mode]
        generator, discriminator, kp_detector = _networks(model_params, channels, states)
        opt = argparse.Namespace(rgbd=mode == "rgbd", use_depth=mode == "depth")
        gen_full = model_module.GeneratorFullModel(kp_detector, _wrap(generator), _wrap(discriminator),
                                                   train_params, opt)
        disc_full = model_module.DiscriminatorFullModel(kp_detector, _wrap(generator), _wrap(discriminator),
                                                        train_params)
        if double:
            gen_full.double(), disc_full.double()
        x = {"source": torch.as_tensor(source), "driving": torch.as_tensor(driving)}
        torch.manual_seed(seed)
        losses, generated = gen_full(x)
        out = {f"loss_{k}": v.mean().detach().double().numpy() for k, v in losses.items()}
        out["prediction"] = generated["prediction"].detach().numpy()
        sum(v.mean() for v in losses.values()).backward()
        nets = {"kp_detector": kp_detector, "generator": generator, "discriminator": discriminator}
        grads = {}
        for net in ("kp_detector", "generator"):
            params = dict(nets[net].named_parameters())
            grads.update({f"grad_{net}.{k}": params[k].grad.detach().numpy().copy() for k in GRAD_KEYS[net]})
        discriminator.zero_grad()                    # train.py: optimizer_discriminator.zero_grad()
        disc_losses = disc_full(x, generated)
        out["loss_disc_gan"] = disc_losses["disc_gan"].mean().detach().double().numpy()
        sum(v.mean() for v in disc_losses.values()).backward()
        params = dict(discriminator.named_parameters())
        grads.update({f"grad_discriminator.{k}": params[k].grad.detach().numpy().copy()
                      for k in GRAD_KEYS["discriminator"]})
        out.update(grads)
        if "transformed_frame" in generated:
            out["transformed_frame"] = generated["transformed_frame"].detach().numpy()
            out["transformed_kp_value"] = generated["transformed_kp"]["value"].detach().numpy()
        torch.manual_seed(seed)                      # the warp's draws, made by their Transform directly
        transform = model_module.Transform(source.shape[0], **train_params["transform_params"])
        out["transform_theta"] = transform.theta.numpy()
        out["transform_control_params"] = transform.control_params.numpy()
    return out
