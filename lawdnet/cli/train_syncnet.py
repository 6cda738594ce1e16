"""`python -m lawdnet.train_syncnet` — train the 256-mouth SyncNet that LawDNet's clip stage uses as its sync loss.

    python -m lawdnet.train_syncnet --data asserts/training_data/training_json/training_json.json \\
        --log_dir runs --name syncnet                                 # one process (CPU or one GPU)
    torchrun --nproc_per_node=4 -m lawdnet.train_syncnet --data ... --batch_size 16      # 4 GPUs, global batch 64
    python -m lawdnet.train_syncnet --data ... --checkpoint runs/syncnet/syncnet_last.pth     # resume exactly

Pairs are the clip stage's 5 mouth crops with the clip's 9 dp1 rows (in sync) or a window of the same video shifted
by >= --min_shift frames (off sync), balanced; the loss is MSE of the 8x8 score map to 1 / 0. Checkpoints
(``<log_dir>/<name>/syncnet_epoch_NNNN.pth``, ``syncnet_last.pth``) are the authors' ``syncnet_256mouth.pth``
layout, read by ``lawdnet.checkpoint.load_syncnet``. docs/lawdnet_syncnet.md has the protocol.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from talkingface.cli import CommandParser
from talkingface.errors import cli_main
from talkingface.training.arguments import add_run_arguments


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(prog="python -m lawdnet.train_syncnet",
                      description="Train LawDNet's 256-mouth SyncNet (the clip stage's frozen lip-sync loss) on the "
                                  "authors' training JSON; one process or under torchrun.")
    d = p.add_argument_group("data")
    d.add_argument("--data", required=True, help="the training JSON (python -m lawdnet.preprocess "
                                                 "--generate_training_json writes it)")
    d.add_argument("--frames_root", help="folder that relative frame_path_list entries start from (default: the "
                                         "current folder, as the authors open them)")
    d.add_argument("--features", default="dp1", choices=["dp1", "dp2"],
                   help="the audio rows: dp1 (deep_speech_list, what the clip stage feeds its SyncNet; default) or "
                        "dp2 (deep_speech_dp2_list)")
    d.add_argument("--mouth_size", type=int, default=256,
                   help="the clip stage's mouth size whose crops to train on (256 default; 288 for LawDNet's "
                        "published clip stage: its 468x360 faces, mouth resized to 256)")
    d.add_argument("--min_shift", type=int, default=5,
                   help="off-sync windows are at least this many frames away from the clip (default 5)")
    d.add_argument("--repeats", type=int, default=1, help="passes over the pairs per epoch (default 1)")
    h = p.add_argument_group("held-out split")
    h.add_argument("--held_out_fraction", type=float, default=0.1,
                   help="hold out the last max(2, ceil(f x clips)) clips in time of every video (default 0.1; "
                        "0: no evaluation)")
    h.add_argument("--val_videos", nargs="+", default=(), metavar="NAME",
                   help="hold out these whole videos instead (names as in the JSON)")
    h.add_argument("--eval_shift", type=int,
                   help="held-out off-sync windows shifted by exactly +-N frames (default: any shift >= "
                        "--min_shift, as in training)")
    r = p.add_argument_group("run")
    r.add_argument("--log_dir", default="runs", help="where run folders go (default: runs)")
    r.add_argument("--name", default="syncnet", help="the run folder <log_dir>/<name> (default: syncnet)")
    r.add_argument("--checkpoint", help="resume the run this checkpoint belongs to (its folder is the run folder), "
                                        "exactly where it stopped")
    r.add_argument("--epochs", type=int, default=100, help="number of epochs (default 100)")
    r.add_argument("--batch_size", type=int, default=16, help="pairs per step per process (default 16)")
    r.add_argument("--lr", type=float, default=1e-4, help="AdamW learning rate (default 1e-4, LawDNet's)")
    r.add_argument("--device", default="auto", help="auto (this process's GPU under torchrun, else the first GPU, "
                                                    "else CPU) | cpu | cuda")
    r.add_argument("--workers", type=int, default=2, help="data loading processes per training process (default 2)")
    r.add_argument("--seed", type=int, default=0, help="seed of the initialisation, pair draws and data order")
    r.add_argument("--checkpoint_every_epochs", type=int, default=1,
                   help="epoch checkpoints and held-out evaluation every N epochs (default 1)")
    add_run_arguments(r, last="syncnet_last.pth", clip=False)
    return p


def options_from_args(args: argparse.Namespace):
    from lawdnet.train.syncnet_run import SyncNetOptions

    return SyncNetOptions(
        data=args.data, log_dir=args.log_dir, name=args.name, checkpoint=args.checkpoint,
        frames_root=args.frames_root, features=args.features, epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, mouth_size=args.mouth_size, min_shift=args.min_shift, eval_shift=args.eval_shift,
        repeats=args.repeats, held_out_fraction=args.held_out_fraction, val_videos=tuple(args.val_videos),
        device=args.device, workers=args.workers, seed=args.seed, precision=args.precision,
        checkpoint_every_epochs=args.checkpoint_every_epochs, checkpoint_every_minutes=args.checkpoint_every_minutes,
        checkpoint_every_steps=args.checkpoint_every_steps, max_steps=args.max_steps,
        deterministic=args.deterministic, progress=not args.no_progress)


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    from lawdnet.train.syncnet_run import train_syncnet

    result = train_syncnet(options_from_args(build_parser().parse_args(argv)))
    return 128 + (result.signal_number or 15) if result.stopped_by_signal else 0
