"""A DaGAN training run from :class:`~dagan.train.options.TrainOptions`: networks, data, losses, then the core's loop.

    result = train(TrainOptions(data="data/vox", batchsize=12))     # under torchrun: one call per process

What ``run.py`` + ``train.py`` build, on the training core (``talkingface.training``): the three trained networks
converted to SyncBatchNorm and wrapped in DDP (``broadcast_buffers=False``, as the authors) when there is more than
one process; the frozen depth network (eval mode, no gradients) and the ImageNet VGG19 of the perceptual loss from
the weights manifest; the FOMM frames dataset with id sampling repeated ``num_repeats`` times; a held-out loss-only
evaluation on same-video pairs of the test split every ``checkpoint_freq`` epochs.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from dagan.config import DaganConfig
from dagan.train.options import TrainOptions, resolve_config
from dagan.train.step import DaganNets, DaganTask, make_optimizers
from talkingface.errors import ConfigError

log = logging.getLogger(__name__)
#: where a run with ``random_frozen`` keeps its random depth network (RANDOM WEIGHTS)
RANDOM_DEPTH_DIR = "random_depth"


def kp_channels(cfg: DaganConfig, mode: str) -> int:
    """Input channels of the keypoint detector: RGB + depth (``--rgbd``), depth alone, or RGB."""
    image = cfg.model_params.common_params.num_channels
    return {"rgbd": image + 1, "depth": 1, "rgb": image}[mode]


def build_trained(cfg: DaganConfig, mode: str) -> tuple[nn.Module, nn.Module, nn.Module]:
    """generator, keypoint detector, discriminator as ``run.py`` builds them (random init)."""
    from dagan.model import build_discriminator, build_generator
    from dagan.modules.keypoint_detector import KPDetector

    k, c = cfg.model_params.kp_detector_params, cfg.model_params.common_params
    kp_detector = KPDetector(block_expansion=k.block_expansion, num_kp=c.num_kp, num_channels=kp_channels(cfg, mode),
                             max_features=k.max_features, num_blocks=k.num_blocks, temperature=k.temperature,
                             estimate_jacobian=c.estimate_jacobian, scale_factor=k.scale_factor)
    return build_generator(cfg), kp_detector, build_discriminator(cfg)


def build_frozen(cfg: DaganConfig, options: TrainOptions) -> tuple[nn.Module, nn.Module, nn.Module | None]:
    """The depth encoder/decoder and VGG19: from files (manifest defaults), or seeded random (``random_frozen``)."""
    from dagan.checkpoint import load_depth_decoder, load_depth_encoder
    from dagan.model import build_depth_network
    from dagan.train.perceptual import build_vgg19

    encoder, decoder = build_depth_network(cfg)
    needs_vgg = sum(cfg.train_params.loss_weights["perceptual"]) != 0
    if options.random_frozen is not None:
        from dagan.random_weights import randomise_weights

        randomise_weights(encoder, options.random_frozen)
        randomise_weights(decoder, options.random_frozen + 1)
        torch.manual_seed(options.random_frozen + 2)
        vgg = build_vgg19(None) if needs_vgg else None
    else:
        from talkingface.weights import require_weights

        wanted = {"depth_encoder": ("depth_encoder", options.depth_encoder),
                  "depth_decoder": ("depth_decoder", options.depth_decoder)}
        if needs_vgg:
            wanted["vgg19"] = ("vgg19_imagenet", options.vgg19)
        files = require_weights(wanted)
        load_depth_encoder(files["depth_encoder"], encoder)
        load_depth_decoder(files["depth_decoder"], decoder)
        vgg = build_vgg19(files["vgg19"]) if needs_vgg else None
    for net in (encoder, decoder, vgg):
        if net is not None:
            net.eval().requires_grad_(False)
    return encoder, decoder, vgg


def load_init(path: str, generator: nn.Module, kp_detector: nn.Module, discriminator: nn.Module) -> None:
    """Fine-tuning start: the checkpoint's generator and keypoint detector (strict: another generator, another
    kp_num or a non-RGB-D detector is named), and its discriminator when it has one (the published file has)."""
    from dagan.checkpoint import load_dagan_checkpoint
    from talkingface.weights import load_torch

    has_disc = "discriminator" in load_torch(path)
    load_dagan_checkpoint(path, generator, kp_detector, discriminator if has_disc else None)
    if not has_disc:
        log.warning("%s has no discriminator: it starts from random weights", path)


def build_task(cfg: DaganConfig, options: TrainOptions, dist, eval_loader=None) -> DaganTask:
    """The task of the core's loop, its networks on ``dist.device`` (DDP-wrapped when world_size > 1)."""
    from dagan.train.losses import DiscriminatorLoss, GeneratorLoss
    from talkingface.training import wrap_ddp

    generator, kp_detector, discriminator = build_trained(cfg, options.mode)
    if options.init:
        if options.mode != "rgbd":
            raise ConfigError("--init loads an RGB-D checkpoint (the published model): train it with --rgbd")
        load_init(options.init, generator, kp_detector, discriminator)
    encoder, decoder, vgg = build_frozen(cfg, options)
    device = dist.device
    for net in (generator, kp_detector, discriminator, encoder, decoder, vgg):
        if net is not None:
            net.to(device)
    generator, kp_detector, discriminator = (wrap_ddp(net, dist) for net in (generator, kp_detector, discriminator))
    nets = DaganNets(generator, kp_detector, discriminator, encoder, decoder, vgg)
    gen_loss = GeneratorLoss(kp_detector, generator, discriminator, encoder, decoder, vgg, cfg.train_params,
                             mode=options.mode).to(device)
    disc_loss = DiscriminatorLoss(discriminator, cfg.train_params).to(device)
    return DaganTask(nets, cfg, gen_loss, disc_loss, make_optimizers(nets, cfg), eval_loader=eval_loader)


def build_data(cfg: DaganConfig, options: TrainOptions, batch_size: int):
    """(training dataset with repeats, held-out evaluation loader or None)."""
    from dagan.train.dataset import DatasetRepeater, EvalPairs, FramesDataset

    d = cfg.dataset_params
    dataset = FramesDataset(d.root_dir, split="train", id_sampling=d.id_sampling, frame_shape=tuple(d.frame_shape),
                            augmentation=d.augmentation_params, seed=options.seed)
    if cfg.train_params.num_repeats != 1:
        dataset = DatasetRepeater(dataset, cfg.train_params.num_repeats)
    eval_loader = None
    if options.eval_pairs:
        pairs = EvalPairs(d.root_dir, split="test", pairs=options.eval_pairs, frame_shape=tuple(d.frame_shape),
                          seed=options.seed)
        if len(pairs):
            eval_loader = torch.utils.data.DataLoader(pairs, batch_size=batch_size, shuffle=False,
                                                      num_workers=min(options.workers, 2))
    return dataset, eval_loader


def save_random_depth(task: DaganTask, folder: Path) -> None:
    """With ``random_frozen``: the random depth network the run trains against, in the authors' files
    (``encoder.pth``, ``depth.pth``), so that its checkpoints can be animated (``dagan.animate --depth_encoder``)."""
    from dagan.checkpoint import save_depth_decoder, save_depth_encoder

    frame = task.cfg.dataset_params.frame_shape
    save_depth_encoder(folder / "encoder.pth", task.nets.depth_encoder, height=frame[0], width=frame[1])
    save_depth_decoder(folder / "depth.pth", task.nets.depth_decoder)


def train(options: TrainOptions):
    """Train (or resume) one run; returns the core's FitResult. Call once per process (torchrun or plain)."""
    from talkingface.config import save_resolved
    from talkingface.training import RunSettings, fit, init_distributed

    options.check()
    cfg = resolve_config(options)
    t = cfg.train_params
    run_dir = Path(options.run_dir())
    dist = init_distributed(device=options.device)
    dataset, eval_loader = build_data(cfg, options, t.batch_size)
    if options.seed is not None:
        torch.manual_seed(options.seed)
    task = build_task(cfg, options, dist, eval_loader)
    settings = RunSettings(run_dir=run_dir, epochs=t.num_epochs, batch_size=t.batch_size,
                           num_workers=options.workers, seed=options.seed, precision=options.precision,
                           grad_clip=options.grad_clip,
                           checkpoint_every_epochs=options.checkpoint_every_epochs or t.checkpoint_freq,
                           checkpoint_every_minutes=options.checkpoint_every_minutes,
                           checkpoint_every_steps=options.checkpoint_every_steps,
                           deterministic=options.deterministic, progress=options.progress,
                           max_steps=options.max_steps)
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_resolved(cfg, run_dir, name="config.yaml")
        if options.random_frozen is not None:
            save_random_depth(task, run_dir / RANDOM_DEPTH_DIR)
    return fit(task, dataset, settings, dist=dist, resume=options.checkpoint)
