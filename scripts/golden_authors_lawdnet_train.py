"""Runs the LawDNet authors' own training loops (a checkout of iPaw-AI-LAB/LawDNet_2024) for one step on CPU, for
make_golden_lawdnet_train.py.

Their ``train()`` functions of ``train_LawDNet_frame_distributed.py`` and ``train_LawDNet_clip_distributed.py`` are
imported and called as they are: one epoch of one batch, with their ``Vgg19``, ``Discriminator``,
``SyncNetPerception``, ``GANLoss``, ``get_scheduler``, ``SmoothSqMask``. Every loss line therefore runs verbatim;
the values are read from their ``wandb.log`` call and the gradients at their ``scaler.step(optimizer)`` calls.
Only the generator is replaced (by a stand-in that returns a fixed image batch, a parameter, so the gradient of
their ``loss_g`` reaches it); the rest of what had to be stubbed is in ``STUBS``.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import types
from pathlib import Path

STUBS = [
    "net_g: a stand-in module whose forward returns a fixed (N, 3, H, W) image parameter (the golden's 'fake'; its "
    ".grad after their loss_g backward is the gradient of loss_g w.r.t. the generator output) and records the audio "
    "batch it was given (to check their clip flattening); the real LawDNet is not run",
    "wandb: a module whose log() keeps the dicts (their loss values, .item() of float32) and whose Image / login / "
    "init do nothing",
    "matplotlib, matplotlib.pyplot: empty modules (tensor_processing.py and models/LawDNet.py import pyplot; unused)",
    "rank: an object equal to 0 whose `rank % n` is 'cpu', and torch.cuda.device_count() -> 1 during the call: "
    "their device_id = rank % torch.cuda.device_count() then names the CPU (SmoothSqMask(device='cpu'), .to('cpu'))",
    "torch.cuda.amp autocast / GradScaler: as they are; without CUDA both disable themselves (float32, "
    "scaler.step(opt) = opt.step())",
    "optimizers: torch.optim.SGD(lr=0) subclasses whose step() records the gradients (weights never change); "
    "schedulers: their own get_scheduler on them",
    "models.VGG19.models.vgg19 -> torchvision vgg19(weights=None) with the given formula `features` state dict (no "
    "ImageNet download; VGG19_Weights.DEFAULT is IMAGENET1K_V1 in their torchvision)",
    "net_dI / net_dV: their Discriminator with tiny sizes (block_expansion, num_blocks, max_features given by the "
    "caller) instead of opt.D_* (64, 4, 256); not DDP-wrapped (DDP's forward is the module's)",
    "SyncNetPerception(path): their class on a formula-weight file written by lawdnet.checkpoint.save_syncnet",
    "the data loader: a one-batch list in their dataset's layout; DistributedSampler: an object with set_epoch",
    "opt: an argparse.Namespace with the options train() reads (one epoch: start_epoch 1, non_decay 1, decay 0; "
    "freq_wandb 1; result_path a temporary folder, where their save_checkpoint / save_config_to_yaml write); "
    "the clip script's train() reads the module globals `args`, `net_vgg` and `net_lipsync` (set in its __main__): set "
    "to Namespace(name='golden'), their Vgg19 and their SyncNetPerception",
]
FILES = ["train_LawDNet_frame_distributed.py", "train_LawDNet_clip_distributed.py", "models/VGG19.py",
         "models/Discriminator.py", "models/Syncnet.py", "models/LawDNet.py", "models/CrossAttention.py",
         "models/Gaussian_blur.py", "models/__init__.py", "utils/training_utils.py", "utils/data_processing.py",
         "tensor_processing.py", "torch_affine_ops.py", "config/config.py", "dataset/dataset_DINet_frame.py",
         "dataset/dataset_DINet_clip.py", "sync_batchnorm/"]
_OWN = ("models", "utils", "config", "dataset", "sync_batchnorm", "tensor_processing", "torch_affine_ops",
        "train_LawDNet_frame_distributed", "train_LawDNet_clip_distributed", "wandb", "matplotlib")
GRAD_KEYS = ["down_blocks.0.conv.weight", "conv.weight"]     # discriminator parameters whose gradients are kept


class _CpuRank(int):
    """0 for ``rank == 0``; ``rank % n`` gives 'cpu' (their device_id)."""

    def __mod__(self, other):
        return "cpu"


@contextlib.contextmanager
def _authors_env(repo: Path, work: Path, logged: list):
    import torch

    def purge():
        for name in list(sys.modules):
            if name.split(".")[0] in _OWN:
                del sys.modules[name]

    old_cwd, old_path, old_count = os.getcwd(), list(sys.path), torch.cuda.device_count
    purge()
    wandb = types.ModuleType("wandb")
    wandb.log = lambda d, *a, **k: logged.append(dict(d))
    wandb.Image = lambda *a, **k: None
    wandb.login = wandb.init = wandb.finish = lambda *a, **k: None
    sys.modules["wandb"] = wandb
    for name in ("matplotlib", "matplotlib.pyplot"):
        sys.modules[name] = types.ModuleType(name)
    sys.path.insert(0, str(repo))
    os.chdir(work)
    torch.cuda.device_count = lambda: 1
    try:
        yield
    finally:
        torch.cuda.device_count = old_count
        os.chdir(old_cwd)
        sys.path[:] = old_path
        purge()


def _stand_in_generator(fake):
    import torch

    class StandIn(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fake = torch.nn.Parameter(fake.clone())
            self.seen_audio = None

        def forward(self, source, reference, audio):
            self.seen_audio = audio.detach().clone()
            return self.fake

    return StandIn()


def _recording_optimizer(params, record: dict, key: str):
    import torch

    params = list(params)

    class Recorder(torch.optim.SGD):
        @torch.no_grad()
        def step(self, closure=None):
            record[key] = {n: (p.grad.detach().clone() if p.grad is not None else None) for n, p in params}

    return Recorder([p for _, p in params], lr=0.0)


def _vgg(vgg_module, vgg_state: dict):
    import torchvision

    def vgg19(weights=None, **_):
        net = torchvision.models.vgg19(weights=None)
        net.features.load_state_dict(vgg_state, strict=True)
        return net

    vgg_module.models = types.SimpleNamespace(vgg19=vgg19, VGG19_Weights=types.SimpleNamespace(DEFAULT=None))
    return vgg_module.Vgg19()


def run_stage(stage: str, repo: Path, work: Path, states: dict, disc_sizes: tuple[int, int, int], batch: dict,
              weights: dict, mouth: int, syncnet_file: Path | None = None) -> dict:
    """One step of the authors' ``stage`` ('frame' or 'clip') loop. ``states``: state dicts ``vgg19_features``,
    ``net_dI`` (and ``net_dV``); ``batch``: float32 tensors ``fake`` (frame (B,3,H,W); clip (5B,3,H,W) frame-major,
    what their generator returns), ``real`` (frame (B,3,H,W); clip (B,5,3,H,W), their loader's layout),
    ``audio`` ((B,29,5) / (B,5,29,5)), clip ``deep_speech_full`` (B,29,9). Returns the logged losses (floats),
    the gradients (``grad_fake``, ``grad_net_dI.<key>``, ``grad_net_dV.<key>``) and the audio their generator saw."""
    import torch

    repo, work = Path(repo).resolve(), Path(work).resolve()
    logged: list = []
    grads: dict = {}
    with _authors_env(repo, work, logged):
        from models.Discriminator import Discriminator
        from utils.training_utils import GANLoss, get_scheduler

        vgg = _vgg(importlib.import_module("models.VGG19"), states["vgg19_features"])
        script = importlib.import_module(f"train_LawDNet_{stage}_distributed")
        nets = {"net_dI": Discriminator(3, *disc_sizes)}
        if stage == "clip":
            nets["net_dV"] = Discriminator(15, *disc_sizes)
        for name, net in nets.items():
            net.load_state_dict(states[name], strict=True)
        net_g = _stand_in_generator(batch["fake"])
        real, audio = batch["real"], batch["audio"]
        b = real.shape[0]
        opt = argparse.Namespace(start_epoch=1, non_decay=1, decay=0, batch_size=b, freq_wandb=1, checkpoint=1,
                                 mouth_region_size=mouth, result_path=str(work), **weights)
        optimizers = {"net_g": _recording_optimizer([("fake", net_g.fake)], grads, "net_g")}
        for name, net in nets.items():
            optimizers[name] = _recording_optimizer(net.named_parameters(), grads, name)
        schedulers = {n: get_scheduler(o, opt.non_decay, opt.decay) for n, o in optimizers.items()}
        flag = torch.ones(b, 1)
        sampler = types.SimpleNamespace(set_epoch=lambda epoch: None)
        reference = torch.zeros(*real.shape[:-3], 15, *real.shape[-2:])
        crit = (GANLoss(), torch.nn.L1Loss(), torch.nn.MSELoss())
        if stage == "frame":
            loader = [(real, reference, audio, audio, flag)]
            script.train(opt, argparse.Namespace(name="golden"), net_g, nets["net_dI"], vgg, loader, sampler,
                         _CpuRank(0), optimizers["net_g"], optimizers["net_dI"], *crit, schedulers["net_g"],
                         schedulers["net_dI"])
        else:
            script.args = argparse.Namespace(name="golden")
            script.net_vgg = vgg
            script.net_lipsync = script.SyncNetPerception(str(Path(syncnet_file).resolve()))
            loader = [(real, reference, audio, audio, batch["deep_speech_full"], flag)]
            script.train(opt, net_g, nets["net_dI"], nets["net_dV"], loader, sampler, _CpuRank(0),
                         optimizers["net_g"], optimizers["net_dI"], optimizers["net_dV"], *crit,
                         schedulers["net_g"], schedulers["net_dI"], schedulers["net_dV"])
    losses = [d for d in logged if "loss_g" in d]
    if len(losses) != 1:
        raise RuntimeError(f"expected one loss log from their train(), got {len(losses)}")
    out = {"losses": {k: float(v) for k, v in losses[0].items() if k.startswith("loss_")},
           "grad_fake": grads["net_g"]["fake"].numpy(), "seen_audio": net_g.seen_audio.numpy()}
    for name in nets:
        out.update({f"grad_{name}.{k}": grads[name][k].numpy() for k in GRAD_KEYS})
    return out
