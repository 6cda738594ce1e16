"""Randomly initialised DaGAN models in the authors' file formats, for tests, benchmarks and smoke runs only.

    files = write_random_model(tmp, seed=0, tiny=True)     # ModelFiles: checkpoint, depth files, config
    model = random_model(seed=0)                          # the same, loaded through dagan.load_model

Their output means nothing: label anything made with them ``RANDOM_LABEL``.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

RANDOM_LABEL = "RANDOM WEIGHTS — not the authors' model"

#: dotted config overrides that shrink vox-adv-256 to a tiny network (tests, smoke runs). The depth net keeps its
#: ResNet-18 (the only sizes the authors' depth files come in are 18 and 50).
TINY_OVERRIDES = (
    "model_params.kp_detector_params.block_expansion=8",
    "model_params.kp_detector_params.max_features=32",
    "model_params.kp_detector_params.num_blocks=3",
    "model_params.generator_params.block_expansion=8",
    "model_params.generator_params.max_features=32",
    "model_params.generator_params.num_bottleneck_blocks=1",
    "model_params.generator_params.dense_motion_params.block_expansion=8",
    "model_params.generator_params.dense_motion_params.max_features=32",
    "model_params.generator_params.dense_motion_params.num_blocks=3",
)


@dataclass(frozen=True)
class ModelFiles:
    """The four files :func:`dagan.load_model` reads."""

    checkpoint: Path
    depth_encoder: Path
    depth_decoder: Path
    config: Path


def randomise_weights(module, seed: int = 0):
    """Fill ``module`` in place with random but well-conditioned weights and return it in eval mode.

    A plain random init makes DaGAN's output an almost constant grey (tests comparing outputs would then pass
    vacuously, smoke videos show nothing): here weights are N(0, 1/fan_in), BatchNorm statistics random, the
    attention's ``gamma`` non-zero, jacobians near identity, keypoint heatmaps sharp and the output layer wide.
    """
    import torch

    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for p in module.parameters():
            scale = p[0].numel() ** -0.5 if p.ndim > 1 else 0.1
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
        for m in module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.add_(1.0)
        for name, p in module.named_parameters():
            if name.endswith("gamma"):
                p.fill_(0.7)
            elif name == "jacobian.weight":
                p.mul_(0.05)
            elif name == "jacobian.bias":
                p.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0]).repeat(p.numel() // 4))
            elif name == "kp.weight":
                p.mul_(20.0)
            elif name == "final.weight":
                p.mul_(5.0)
    return module.eval()


def write_random_model(folder: str | os.PathLike, seed: int = 0, tiny: bool = True) -> ModelFiles:
    """Write a randomly initialised DaGAN (``tiny`` or full vox-adv-256 size) in the authors' file formats.

    For tests, benchmarks and smoke runs only: its output is meaningless (label it with ``RANDOM_LABEL``). The same
    seed gives the same files; the caller's torch random state is left untouched.
    """
    import torch

    from dagan.checkpoint import save_checkpoint, save_depth_decoder, save_depth_encoder
    from dagan.config import load_dagan_config
    from dagan.model import build_depth_network, build_generator, build_kp_detector
    from talkingface.config import save_resolved

    folder = Path(folder)
    cfg = load_dagan_config(None, overrides=TINY_OVERRIDES if tiny else ())
    with torch.random.fork_rng(devices=[]):        # module construction draws from the global generator
        generator, kp_detector = build_generator(cfg), build_kp_detector(cfg)
        encoder, decoder = build_depth_network(cfg)
    for i, net in enumerate((generator, kp_detector, encoder, decoder)):
        randomise_weights(net, int(seed) * 10 + i)
    files = ModelFiles(folder / "dagan_random.pth.tar", folder / "encoder.pth", folder / "depth.pth",
                       folder / "config.yaml")
    save_checkpoint(files.checkpoint, generator, kp_detector)
    save_depth_encoder(files.depth_encoder, encoder)
    save_depth_decoder(files.depth_decoder, decoder)
    save_resolved(cfg, folder, files.config.name)
    return files


def random_model(seed: int = 0, tiny: bool = True, device: str = "cpu", fp16: bool = False,
                 batch_size: int | None = None, channels_last: bool | None = None):
    """A randomly initialised DaGAN loaded through the real loading path (files written to a temp dir, then
    deleted). Meaningless output: label anything made with it ``RANDOM_LABEL``."""
    from dagan.model import load_model

    with tempfile.TemporaryDirectory(prefix="dagan_random_") as tmp:
        f = write_random_model(tmp, seed, tiny)
        return load_model(f.checkpoint, f.depth_encoder, f.depth_decoder, config=f.config, kp_num=None,
                          device=device, fp16=fp16, batch_size=batch_size, channels_last=channels_last)
