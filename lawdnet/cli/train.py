"""`python -m lawdnet.train` — train LawDNet's four coarse-to-fine stages with the authors' losses, on torchrun.

    torchrun --nproc_per_node=4 -m lawdnet.train --stage frame_64 --data data/training_json.json --name exp1
    python -m lawdnet.train --all --data data/training_json.json --name exp1     # 64 -> 128 -> 256 -> clip
    python -m lawdnet.train --stage clip_256 --data ... --name exp1 --resume     # continue a stopped stage

Stages: ``config/lawdnet/{frame_64,frame_128,frame_256,clip_256}.yaml`` (the authors' experiment configs). A stage
starts its generator from the previous stage's newest checkpoint in the same experiment and logs which file.
Checkpoints are theirs: ``netG_model_epoch_N.pth`` (frame stages), ``checkpoint_epoch_N.pth`` (clip stage), which
``lawdnet.load_generator`` and their inference read, in ``<log_dir>/<name>/<stage folder>``; ``losses.csv`` and
TensorBoard next to them. docs/lawdnet_training.md has the recipe, docs/training.md the launcher.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from talkingface.cli import CommandParser
from talkingface.errors import ConfigError, cli_main
from talkingface.training.arguments import add_run_arguments


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="python -m lawdnet.train",
                      description="Train LawDNet (frame stages 64/128/256, then the clip stage with the SyncNet loss) "
                                  "with the authors' losses and checkpoint formats; under torchrun or as one process.")
    a = p.add_argument
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--stage", help="frame_64 | frame_128 | frame_256 | clip_256, or a stage YAML in that layout")
    what.add_argument("--config_path", dest="stage", help="the same as --stage (the authors' flag name)")
    what.add_argument("--all", action="store_true", help="the four stages in order, each from the previous one's "
                                                         "newest checkpoint; finished stages are skipped")
    a("--data", required=True, help="the training JSON (python -m lawdnet.preprocess --generate_training_json)")
    a("--name", default="lawdnet", help="experiment name: runs go to <log_dir>/<name>/<stage folder> (theirs)")
    a("--log_dir", default="output/training_model_weight", help="where experiments go (default: the authors')")
    a("--resume", action="store_true", help="continue the stage from its newest checkpoint, exactly (networks, "
                                            "optimisers, schedulers, random states, data position)")
    a("--init", help="start the generator from this checkpoint instead of the previous stage's")
    a("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
      help="override a stage config value, e.g. --set batch_size=2 (repeatable)")
    a("--vgg19", help="ImageNet VGG19 of the perceptual loss (default: manifest entry vgg19_imagenet)")
    a("--syncnet", help="the frozen 256-mouth SyncNet of the clip stage (default: manifest entry "
                        "lawdnet_syncnet_256mouth; python -m lawdnet.train_syncnet trains one)")
    a("--random_frozen", type=int, metavar="SEED", help="random VGG19 and SyncNet (smoke runs only: RANDOM WEIGHTS)")
    a("--device", default="auto", help="auto (this process's GPU under torchrun, else the first GPU, else CPU) | cpu "
                                       "| cuda")
    a("--workers", type=int, help="data loading processes per training process (default: the config's, 2)")
    a("--seed", type=int, help="seed of the data order and initialisation (default: the config's, 456)")
    a("--epochs", type=int, help="epochs of the stage (default and most: non_decay + decay, after which the authors' "
                                 "learning-rate rule turns negative; fewer for smoke runs)")
    add_run_arguments(p)
    a("--master_addr", help=argparse.SUPPRESS)     # the authors' scripts pass them; torchrun's env rules here
    a("--master_port", help=argparse.SUPPRESS)
    return p


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    from lawdnet.train.run import StageRun, train_all, train_stage

    args = build_parser().parse_args(argv)
    for flag in ("epochs", "max_steps", "checkpoint_every_steps"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise ConfigError(f"--{flag} must be at least 1, got {value}")
    run = StageRun(data=args.data, name=args.name, stage=args.stage or "frame_64", log_dir=args.log_dir,
                   resume=args.resume, init=args.init, overrides=args.overrides, vgg19=args.vgg19,
                   syncnet=args.syncnet, random_frozen=args.random_frozen, device=args.device, workers=args.workers,
                   seed=args.seed, precision=args.precision, grad_clip=args.grad_clip, epochs=args.epochs,
                   max_steps=args.max_steps, checkpoint_every_minutes=args.checkpoint_every_minutes,
                   checkpoint_every_steps=args.checkpoint_every_steps, deterministic=args.deterministic,
                   progress=not args.no_progress)
    if args.all:
        results = train_all(run)
        stopped = next((r for r in results if r.stopped_by_signal), None)
    else:
        stopped = train_stage(run)
        stopped = stopped if stopped.stopped_by_signal else None
    return 128 + (stopped.signal_number or 15) if stopped is not None else 0
