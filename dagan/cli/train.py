"""`python -m dagan.train` — train DaGAN (or fine-tune the published model) with the authors' losses, on torchrun.

    torchrun --nproc_per_node=8 -m dagan.train --config config/dagan/vox-adv-256.yaml --data data/vox --rgbd \\
        --batchsize 12 --kp_num 15                                   # the authors' README run (12 per GPU)
    python -m dagan.train --data data/vox --batchsize 4              # one process (CPU or one GPU): the same code
    python -m dagan.train --checkpoint log/vox-adv-256/last-checkpoint.pth.tar --data data/vox   # resume exactly
    python -m dagan.train --init checkpoints/dagan/DaGAN_vox_adv_256.pth.tar --data mine/ --name _ft  # fine-tune

The flags of the authors' ``run.py`` keep their names and defaults (``--rgbd``, ``--use_depth``, ``--kp_num``,
``--kp_distance``, ``--kp_prior``, ``--depth_constraint``, ``--checkpoint``, ``--batchsize``, ``--log_dir``,
``--name``, ``--generator``); the run folder is theirs too: ``<log_dir>/<config stem><name>`` (with
``--checkpoint``, that file's folder). Checkpoints are their ``.pth.tar`` (``00000009-checkpoint.pth.tar`` every
``checkpoint_freq`` epochs, ``last-checkpoint.pth.tar`` every ``--checkpoint_every_minutes`` and on SIGTERM), which
their ``demo.py`` and ``python -m dagan.animate --checkpoint`` load. Losses go to ``losses.csv`` and TensorBoard
(``<run>/tensorboard``). docs/dagan_training.md has the recipe, docs/training.md the launcher.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from talkingface.cli import CommandParser
from talkingface.errors import ConfigError, cli_main
from talkingface.training.arguments import add_run_arguments

GENERATORS = ("DepthAwareGenerator",)


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="python -m dagan.train",
                      description="Train DaGAN with the authors' losses and checkpoint format; run it under torchrun "
                                  "for several GPUs or machines, or as one process.")
    g = p.add_argument_group("the authors' run.py flags")
    g.add_argument("--config", help="model/training YAML in the authors' layout (default: the built-in "
                                    "config/dagan/vox-adv-256.yaml). Unknown keys are errors")
    g.add_argument("--log_dir", default="log", help="where run folders go (default: log)")
    g.add_argument("--name", default="", help="appended to the config's name to make the run folder "
                                              "<log_dir>/<config stem><name>")
    g.add_argument("--checkpoint", help="resume the run this checkpoint belongs to (its folder is the run folder): "
                                        "from last-checkpoint.pth.tar or an epoch checkpoint, exactly where it was "
                                        "(networks, optimisers, schedulers, random states, data position)")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--rgbd", dest="mode", action="store_const", const="rgbd",
                      help="keypoints from RGB + depth (the paper's and the published model's setting; the default "
                           "here, unlike run.py, since dagan.animate loads RGB-D models)")
    mode.add_argument("--use_depth", dest="mode", action="store_const", const="depth",
                      help="keypoints from the depth map alone")
    mode.add_argument("--rgb", dest="mode", action="store_const", const="rgb",
                      help="keypoints from RGB alone (run.py without --rgbd)")
    g.add_argument("--kp_num", type=int, default=-1, help="number of keypoints (default: the config's; the published "
                                                           "model: 15)")
    g.add_argument("--batchsize", type=int, default=-1, help="batch size per process (default: the config's)")
    g.add_argument("--kp_distance", type=float, default=10, help="weight of the keypoint distance loss (default 10, "
                                                                 "over the config's value, as run.py)")
    g.add_argument("--kp_prior", action="store_true",
                   help="the authors' kp_prior loss instead of kp_distance (as in their code it ends up weighted 0)")
    g.add_argument("--depth_constraint", type=float, default=0,
                   help="weight of |depth(driving) - depth(prediction)| (default 0, the paper)")
    g.add_argument("--generator", default="DepthAwareGenerator", help="DepthAwareGenerator (the only one built)")
    g.add_argument("--local_rank", type=int, help=argparse.SUPPRESS)     # torch.distributed.launch passes it
    k = p.add_argument_group("kit flags")
    k.add_argument("--data", help="dataset root with train/ and test/ (python -m dagan.preprocess writes one); "
                                  "over the config's dataset_params.root_dir")
    k.add_argument("--init", help="fine-tune: start from this checkpoint's generator, keypoint detector (and "
                                  "discriminator), fresh optimisers, learning rates x0.1 unless --lr (2e-4 ruins a "
                                  "trained model: authors' issue #78)")
    k.add_argument("--lr", type=float, help="every learning rate (default: the config's, 2e-4)")
    k.add_argument("--epochs", type=int, help="number of epochs (default: the config's num_epochs, 150)")
    k.add_argument("--num_repeats", type=int, help="passes over the dataset per epoch (default: the config's, 75)")
    k.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train_params.checkpoint_freq=5 (repeatable)")
    k.add_argument("--depth_encoder", help="frozen depth encoder (default: manifest entry depth_encoder)")
    k.add_argument("--depth_decoder", help="frozen depth decoder (default: manifest entry depth_decoder)")
    k.add_argument("--vgg19", help="ImageNet VGG19 of the perceptual loss (default: manifest entry vgg19_imagenet)")
    k.add_argument("--random_frozen", type=int, metavar="SEED",
                   help="random depth network and VGG19 instead of weights (smoke runs only: RANDOM WEIGHTS)")
    k.add_argument("--device", default="auto", help="auto (this process's GPU under torchrun, else the first GPU, "
                                                    "else CPU) | cpu | cuda")
    k.add_argument("--workers", type=int, default=2, help="data loading processes per training process (default 2)")
    k.add_argument("--seed", type=int, default=0, help="seed of the data order, augmentation and initialisation")
    k.add_argument("--checkpoint_every_epochs", type=int,
                   help="epoch checkpoints every N epochs (default: the config's checkpoint_freq, 10)")
    add_run_arguments(k)
    k.add_argument("--eval_pairs", type=int, default=64,
                   help="held-out same-video pairs from test/ for the loss-only evaluation (default 64; 0: none)")
    p.set_defaults(mode="rgbd")
    return p


def options_from_args(args: argparse.Namespace):
    from dagan.train.options import TrainOptions

    if args.generator not in GENERATORS:
        raise ConfigError(f"--generator {args.generator} is not supported: the kit trains DepthAwareGenerator, the "
                          f"generator of the published model")
    return TrainOptions(
        config=args.config, data=args.data, log_dir=args.log_dir, name=args.name, checkpoint=args.checkpoint,
        init=args.init, mode=args.mode, kp_num=args.kp_num, batchsize=args.batchsize, kp_distance=args.kp_distance,
        depth_constraint=args.depth_constraint, kp_prior=args.kp_prior, lr=args.lr, epochs=args.epochs,
        num_repeats=args.num_repeats, overrides=args.overrides, depth_encoder=args.depth_encoder,
        depth_decoder=args.depth_decoder, vgg19=args.vgg19, random_frozen=args.random_frozen, device=args.device,
        workers=args.workers, seed=args.seed, precision=args.precision, grad_clip=args.grad_clip,
        checkpoint_every_epochs=args.checkpoint_every_epochs, checkpoint_every_minutes=args.checkpoint_every_minutes,
        checkpoint_every_steps=args.checkpoint_every_steps, max_steps=args.max_steps,
        deterministic=args.deterministic, eval_pairs=args.eval_pairs, progress=not args.no_progress)


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    from dagan.train.run import train

    options = options_from_args(build_parser().parse_args(argv))
    result = train(options)
    return 128 + (result.signal_number or 15) if result.stopped_by_signal else 0
