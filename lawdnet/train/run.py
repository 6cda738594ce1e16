"""LawDNet training runs: one stage, or the authors' coarse-to-fine sequence, on the training core.

    train_stage(StageRun(stage="frame_64", data="data/training_json.json", name="exp1"))
    train_all(StageRun(data=..., name="exp1"))        # frame_64 -> frame_128 -> frame_256 -> clip_256

Run folders are the authors': ``<log_dir>/<name>/<stage folder>`` (their ``output/training_model_weight/<NAME>/
frame_training_64`` …). A stage with ``init_from`` starts its generator from that stage's newest epoch checkpoint in
the same experiment (their ``coarse_model_path`` / ``pretrained_frame_DINet_path``, which they hard-code to epoch 9
of 10), and says which file it took; a checkpoint of another mouth size or generator is refused in one line.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from lawdnet.train.options import STAGES, StageConfig, load_stage_config
from lawdnet.train.step import LawdnetNets, LawdnetTask, make_optimizers
from talkingface.errors import ConfigError

log = logging.getLogger(__name__)
FOLDERS = {"frame_64": "frame_training_64", "frame_128": "frame_training_128", "frame_256": "frame_training_256",
           "clip_256": "clip_training_256"}


@dataclass
class StageRun:
    """What ``python -m lawdnet.train`` is asked (the CLI only parses into this)."""

    data: str = ""                       # the training JSON (python -m lawdnet.preprocess)
    name: str = "lawdnet"                # experiment name (their --name)
    stage: str = "frame_64"              # a stage name or a stage YAML path
    log_dir: str = "output/training_model_weight"
    resume: bool = False                 # continue this stage from its newest checkpoint
    init: str | None = None              # start the generator from this file instead of init_from
    overrides: list[str] = field(default_factory=list)
    vgg19: str | None = None
    syncnet: str | None = None
    random_frozen: int | None = None     # seed: random VGG19 / SyncNet (smoke runs, tests: RANDOM WEIGHTS)
    device: str = "auto"
    workers: int | None = None
    seed: int | None = None
    precision: str = "fp32"
    grad_clip: float | None = None
    epochs: int | None = None            # cut the stage short (smoke runs); default non_decay + decay
    max_steps: int | None = None
    checkpoint_every_minutes: float = 30.0
    checkpoint_every_steps: int | None = None
    deterministic: bool = False
    progress: bool = True

    def run_dir(self, stage: str) -> Path:
        return Path(self.log_dir) / self.name / FOLDERS.get(stage, Path(stage).stem)


def checkpoint_name(cfg: StageConfig) -> str:
    return "checkpoint_epoch_{epoch}.pth" if cfg.stage == "clip" else "netG_model_epoch_{epoch}.pth"


def newest_epoch_file(folder: Path) -> Path | None:
    """The highest-numbered ``netG_model_epoch_N.pth`` / ``checkpoint_epoch_N.pth`` in ``folder``."""
    files = [(int(m.group(1)), p) for p in folder.glob("*_epoch_*.pth")
             if (m := re.fullmatch(r"(?:netG_model|checkpoint)_epoch_(\d+)\.pth", p.name))]
    return max(files)[1] if files else None


def init_file(run: StageRun, cfg: StageConfig) -> Path | None:
    """The generator checkpoint this stage starts from (``--init``, else ``init_from``'s newest), or None."""
    if run.init:
        return Path(run.init)
    if cfg.init_from is None:
        return None
    folder = run.run_dir(cfg.init_from)
    found = newest_epoch_file(folder)
    if found is None:
        raise ConfigError(f"stage {run.stage} starts from {cfg.init_from}, but {folder} holds no epoch checkpoint: "
                          f"train {cfg.init_from} first (or pass --init FILE)")
    return found


def load_init(path: Path, net_g: torch.nn.Module, cfg: StageConfig, expected_mouth: int | None = None) -> None:
    """The generator of ``path`` (strict; a DINet file or another layout is named). A file of this kit records its
    stage's mouth size: it must be ``expected_mouth`` (chaining from ``init_from``), and never larger than this
    stage's (coarse to fine: 64 -> 128 -> 256 -> 288)."""
    from lawdnet.checkpoint import generator_state
    from talkingface.weights import load_state_strict, load_torch

    ckpt = load_torch(path)
    mouth = (ckpt.get("kit_stage") or {}).get("mouth_region_size") if isinstance(ckpt, dict) else None
    if mouth is not None and (expected_mouth is not None and mouth != expected_mouth
                              or mouth > cfg.mouth_region_size):
        want = f"mouth {expected_mouth}" if expected_mouth is not None else f"at most {cfg.mouth_region_size}"
        raise ConfigError(f"{path}: a stage checkpoint at mouth {mouth}; stage {cfg.stage} at mouth "
                          f"{cfg.mouth_region_size} starts from {want} (coarse to fine: 64 -> 128 -> 256 -> 288)")
    load_state_strict(net_g, generator_state(ckpt, path, "lawdnet"), path, "['state_dict']['net_g']")
    log.warning("generator initialised from %s", path)


def build_task(run: StageRun, cfg: StageConfig, dist) -> LawdnetTask:
    from lawdnet.modules.discriminator import Discriminator
    from lawdnet.modules.lawdnet import LawDNet
    from lawdnet.train.losses import ClipLosses, FrameLosses, LossWeights
    from talkingface.training import wrap_ddp

    m = cfg.model
    net_g = LawDNet(m.source_channel, m.ref_channel, m.audio_channel, m.warp_layer_num, m.num_kpoints,
                    m.coarse_grid_size)
    start = init_file(run, cfg)
    if start is not None and not run.resume:
        expected = None if run.init else load_stage_config(cfg.init_from, run.overrides).mouth_region_size
        load_init(start, net_g, cfg, expected)
    net_dI = Discriminator(m.source_channel, m.D_block_expansion, m.D_num_blocks, m.D_max_features)
    net_dV = Discriminator(m.source_channel * 5, m.D_block_expansion, m.D_num_blocks, m.D_max_features) \
        if cfg.stage == "clip" else None
    nets = LawdnetNets(*(wrap_ddp(n.to(dist.device), dist) if n is not None else None
                         for n in (net_g, net_dI, net_dV)))
    weights = LossWeights.from_options({k: getattr(cfg, k) for k in (
        "lamb_perception", "lamb_syncnet_perception", "lambda_img", "lambda_g_dI", "lambda_g_dV")})
    vgg, syncnet = frozen_nets(run, cfg)
    vgg = vgg.to(dist.device)
    if cfg.stage == "clip":
        losses = ClipLosses(vgg, nets.net_dI, nets.net_dV, syncnet.to(dist.device), weights, cfg.mouth_region_size)
    else:
        losses = FrameLosses(vgg, nets.net_dI, weights)
    return LawdnetTask(nets, cfg, losses, make_optimizers(nets, cfg))


def frozen_nets(run: StageRun, cfg: StageConfig):
    """(VGG19, SyncNet or None): from the manifest's files, or seeded random with ``random_frozen``."""
    from lawdnet.train.perceptual import build_vgg19

    clip = cfg.stage == "clip"
    if run.random_frozen is not None:
        from lawdnet.modules.syncnet import SyncNet
        from lawdnet.random_weights import randomise_weights

        torch.manual_seed(run.random_frozen)
        vgg = build_vgg19(None)
        syncnet = randomise_weights(SyncNet(15, 29, 128), run.random_frozen).eval().requires_grad_(False) \
            if clip else None
        return vgg, syncnet
    from lawdnet.checkpoint import load_syncnet
    from talkingface.weights import require_weights

    wanted = {"vgg19": ("vgg19_imagenet", run.vgg19)}
    if clip:
        wanted["syncnet"] = ("lawdnet_syncnet_256mouth", run.syncnet or cfg.syncnet)
    files = require_weights(wanted)
    return build_vgg19(files["vgg19"]), (load_syncnet(files["syncnet"]) if clip else None)


def train_stage(run: StageRun):
    """Train (or resume) one stage; returns the core's FitResult. Call once per process."""
    from lawdnet.train.dataset import ClipDataset, FrameDataset
    from talkingface.config import save_resolved
    from talkingface.training import RunSettings, fit, init_distributed

    cfg = load_stage_config(run.stage, run.overrides)
    if run.epochs and run.epochs > cfg.epochs:
        raise ConfigError(f"--epochs {run.epochs} is more than the {cfg.epochs} epochs of stage {run.stage} "
                          f"(non_decay + decay): past them the authors' rule lr x (1 - max(0, epoch - non_decay) / "
                          f"(decay + 1)) reaches 0 and turns negative; to train longer raise both with --set "
                          f"non_decay=N --set decay=N")
    run_dir = run.run_dir(run.stage)
    dist = init_distributed(device=run.device)
    seed = cfg.seed if run.seed is None else run.seed
    kind = ClipDataset if cfg.stage == "clip" else FrameDataset
    dataset = kind(run.data, cfg.mouth_region_size, cfg.augment_num, seed=seed, features=cfg.features)
    torch.manual_seed(seed)
    task = build_task(run, cfg, dist)
    settings = RunSettings(run_dir=run_dir, epochs=run.epochs or cfg.epochs, batch_size=cfg.batch_size,
                           num_workers=cfg.num_workers if run.workers is None else run.workers, seed=seed,
                           precision=run.precision, grad_clip=run.grad_clip, checkpoint_every_epochs=cfg.checkpoint,
                           checkpoint_every_minutes=run.checkpoint_every_minutes,
                           checkpoint_every_steps=run.checkpoint_every_steps,
                           epoch_checkpoint_name=checkpoint_name(cfg), epoch_name_offset=cfg.start_epoch,
                           deterministic=run.deterministic, progress=run.progress, max_steps=run.max_steps)
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_resolved(cfg, run_dir, name=f"config_{run.name}.yaml")
    return fit(task, dataset, settings, dist=dist, resume=run_dir if run.resume else None)


def train_all(run: StageRun) -> list:
    """The four stages in order, each from the previous one's newest checkpoint (a stage already finished — its last
    epoch's checkpoint present — is skipped, so a stopped sequence continues)."""
    results = []
    for stage in STAGES:
        cfg = load_stage_config(stage, run.overrides)
        done = run.run_dir(stage) / checkpoint_name(cfg).format(epoch=cfg.start_epoch + (run.epochs or cfg.epochs) - 1)
        if done.is_file() and run.max_steps is None:
            log.info("%s: finished earlier (%s), skipped", stage, done)
            continue
        results.append(train_stage(StageRun(**{**vars(run), "stage": stage,
                                               "resume": (run.run_dir(stage) / "last-checkpoint.pth.tar").is_file()})))
        if results[-1].stopped_by_signal:
            break
    return results
