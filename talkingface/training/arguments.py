"""The run flags every training command shares (precision, clipping, checkpoints, stopping, determinism, progress),
added to a command's parser in one place so that their names, defaults and help read the same everywhere.

    add_run_arguments(parser.add_argument_group("run"), last="last-checkpoint.pth.tar")
"""
from __future__ import annotations

from typing import Any


def add_run_arguments(group: Any, last: str = "last-checkpoint.pth.tar", clip: bool = True) -> None:
    """``--precision --grad_clip --checkpoint_every_minutes --checkpoint_every_steps --max_steps --deterministic
    --no_progress`` on ``group`` (a parser or an argument group); ``last``: the command's mid-epoch checkpoint name
    (for the help); ``clip=False`` leaves ``--grad_clip`` out."""
    a = group.add_argument
    a("--precision", default="fp32", choices=["fp32", "bf16", "fp16"],
      help="autocast on CUDA: bf16, or fp16 with a gradient scaler (fp32: the default, the authors')")
    if clip:
        a("--grad_clip", type=float, help="clip each optimiser's gradient norm to this (default: off)")
    a("--checkpoint_every_minutes", type=float, default=30.0,
      help=f"also write {last} every M minutes within an epoch (default 30; 0: never)")
    a("--checkpoint_every_steps", type=int, help=f"also write {last} every N steps")
    a("--max_steps", type=int, help="stop after this many steps (smoke runs), with a checkpoint")
    a("--deterministic", action="store_true", help="deterministic algorithms (exact resume on CPU; slower on GPU)")
    a("--no_progress", action="store_true", help="no progress bar")
