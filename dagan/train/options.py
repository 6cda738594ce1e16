"""What a DaGAN training run is asked to do: the authors' ``run.py`` flags and the kit's run settings, and the config
those flags make.

``run.py`` edits the YAML config before building anything; :func:`resolve_config` makes the same edits:
``loss_weights.depth_constraint = --depth_constraint`` (default 0), ``loss_weights.kp_distance = --kp_distance``
(default 10, over the YAML's value), ``--kp_prior`` sets kp_distance 0 and kp_prior 10 (which then weighs 0: the
authors' kp_prior branch multiplies by the kp_distance weight — reproduced, see dagan.train.losses),
``--batchsize`` and ``--kp_num`` when given.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from dagan.config import DaganConfig, load_dagan_config
from talkingface.errors import ConfigError

MODES = ("rgbd", "depth", "rgb")
#: learning rates are multiplied by this when fine-tuning from a trained checkpoint (--init) and --lr is not given:
#: the authors' 2e-4 destroys a trained model within an epoch, 2e-5 works (CVPR2022-DaGAN issue #78)
FINE_TUNE_LR_SCALE = 0.1


@dataclass
class TrainOptions:
    """Everything ``python -m dagan.train`` takes (the CLI only parses into this)."""

    config: str | None = None                 # YAML (None: the built-in vox-adv-256 settings)
    data: str | None = None                   # dataset root with train/ and test/ (over dataset_params.root_dir)
    log_dir: str = "log"
    name: str = ""
    checkpoint: str | None = None             # resume from this .pth.tar (its folder is the run folder)
    init: str | None = None                   # fine-tune from these weights (fresh optimisers, lower lr)
    mode: str = "rgbd"                        # keypoints on RGB-D (--rgbd, the paper), depth only, or RGB
    kp_num: int = -1
    batchsize: int = -1
    kp_distance: float = 10
    depth_constraint: float = 0
    kp_prior: bool = False
    lr: float | None = None                   # every learning rate (default: the config's; x0.1 with --init)
    epochs: int | None = None
    num_repeats: int | None = None
    overrides: list[str] = field(default_factory=list)
    depth_encoder: str | None = None
    depth_decoder: str | None = None
    vgg19: str | None = None
    random_frozen: int | None = None          # seed: random depth net and VGG19 (smoke runs; RANDOM WEIGHTS)
    device: str = "auto"
    workers: int = 2
    seed: int = 0
    precision: str = "fp32"
    grad_clip: float | None = None
    checkpoint_every_epochs: int | None = None    # default: train_params.checkpoint_freq
    checkpoint_every_minutes: float = 30.0
    checkpoint_every_steps: int | None = None
    max_steps: int | None = None
    deterministic: bool = False
    eval_pairs: int = 64
    progress: bool = True

    def check(self) -> None:
        """ConfigError for values no run can use (before anything is read)."""
        if self.mode not in MODES:
            raise ConfigError(f"mode {self.mode!r}: expected one of {', '.join(MODES)}")
        if self.checkpoint and self.init:
            raise ConfigError("--checkpoint (resume a run) and --init (start a new run from weights) exclude "
                              "each other")
        if self.random_frozen is not None and (self.depth_encoder or self.depth_decoder or self.vgg19):
            raise ConfigError("--random_frozen replaces the depth network and VGG19: do not also pass their files")
        for name in ("workers", "eval_pairs"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name} must be at least 0, got {getattr(self, name)}")
        for name in ("epochs", "num_repeats", "checkpoint_every_epochs", "checkpoint_every_steps", "max_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"--{name} must be at least 1, got {value}")
        if self.batchsize == 0 or self.batchsize < -1:
            raise ConfigError(f"--batchsize must be at least 1, got {self.batchsize}")
        if self.lr is not None and not self.lr > 0:
            raise ConfigError(f"--lr must be positive, got {self.lr}")

    def run_dir(self) -> str:
        """The authors' run folder: the checkpoint's folder when resuming, else ``log_dir/<config stem><name>``."""
        if self.checkpoint:
            return os.path.dirname(os.path.abspath(self.checkpoint))
        stem = os.path.basename(self.config).split(".")[0] if self.config else "vox-adv-256"
        return os.path.join(self.log_dir, stem + self.name)


def resolve_config(options: TrainOptions) -> DaganConfig:
    """The config ``run.py`` would train with: the YAML, ``--set`` overrides, then the flags' edits."""
    overrides = list(options.overrides)
    if options.data:
        overrides.append(f"dataset_params.root_dir={options.data}")
    cfg = load_dagan_config(options.config, overrides)
    weights = cfg.train_params.loss_weights
    weights["depth_constraint"] = options.depth_constraint
    weights["kp_distance"] = options.kp_distance
    if options.kp_prior:
        weights["kp_distance"], weights["kp_prior"] = 0, 10
    t = cfg.train_params
    if options.batchsize != -1:
        t.batch_size = options.batchsize
    if options.kp_num != -1:
        cfg.model_params.common_params.num_kp = options.kp_num
    if options.epochs is not None:
        t.num_epochs = options.epochs
    if options.num_repeats is not None:
        t.num_repeats = options.num_repeats
    scale = 1.0 if options.lr is not None or not options.init else FINE_TUNE_LR_SCALE
    for name in ("lr_generator", "lr_discriminator", "lr_kp_detector"):
        setattr(t, name, options.lr if options.lr is not None else getattr(t, name) * scale)
    return cfg
