"""`python -m talkingface.training.launch MODULE [ARGS]` — run a training module under torchrun on this machine's GPUs.

    python -m talkingface.training.launch dagan.train --data data/vox --batchsize 12    # one process per GPU
    python -m talkingface.training.launch --nproc 2 dagan.train ...                        # two processes

It is ``torchrun --standalone --nproc_per_node=N -m MODULE ARGS`` with N = ``--nproc``, else ``$NPROC_PER_NODE``,
else the number of visible CUDA devices, else 1 (the CPU: one process; torchrun's own ``auto`` would start one per
CPU core). One process is started directly, without torchrun, so that signals and exit codes are the module's own.
Several machines: call torchrun yourself with ``--nnodes``/``--rdzv-backend c10d`` (docs/training.md). The `train`
image's entry point.
"""
from __future__ import annotations

import argparse
import os
import runpy
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m talkingface.training.launch",
        description="Run MODULE (e.g. dagan.train) under torchrun, one process per visible GPU (1 without a GPU). "
                    "Arguments after MODULE go to it (MODULE --help for them).")
    p.add_argument("--nproc", type=int, help="processes on this machine (default: $NPROC_PER_NODE, else the number "
                                             "of visible GPUs, else 1)")
    p.add_argument("module", help="the training module to run, e.g. dagan.train")
    p.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    return p


def process_count(given: int | None = None) -> int:
    """``given``, else ``$NPROC_PER_NODE``, else the visible CUDA devices, else 1."""
    if given is not None:
        return given
    env = os.environ.get("NPROC_PER_NODE", "").strip()
    if env:
        return int(env)
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    nproc = process_count(args.nproc)
    if nproc < 1:
        print(f"error: --nproc must be at least 1, got {nproc}", file=sys.stderr)
        return 2
    if nproc == 1:
        sys.argv = [args.module, *args.args]
        runpy.run_module(args.module, run_name="__main__", alter_sys=True)
        return 0
    from torch.distributed.run import main as torchrun

    torchrun(["--standalone", f"--nproc_per_node={nproc}", "-m", args.module, *args.args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
