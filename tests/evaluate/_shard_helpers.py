"""Helpers of test_evaluate_shards.py: what a split evaluation is compared on, and a torchrun worker script.

As a script (under ``python -m torch.distributed.run``)::

    _shard_helpers.py fail|hang RANK BASE_DIR OUTPUT_PATH

runs ``evaluate(..., distributed=True)`` in every rank with a metric factory that raises (``fail``) or sleeps for
ten minutes (``hang``) in rank RANK, and prints ``rank R: <error>`` (exit 3) or ``rank R: ok``: a failing or stuck
rank must stop the others (``shard_wait_minutes`` 0.1), not hang them.
"""
from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
METRICS = ["psnr", "ssim", "fid"]
OPTIONS = {"metrics": METRICS, "fid_dims": 64, "batch_size": 4, "progress": False, "device": "cpu"}


def comparable(results: dict) -> dict:
    """Per run: each metric's value, std, n (and n_reference), and every sample's values and error."""
    out = {}
    for run in results["runs"]:
        metrics = {name: {k: m.get(k) for k in ("value", "std", "n", "n_reference", "note")}
                   for name, m in run["metrics"].items()}
        samples = {s["sample"]: (s["values"], s["not_computable"], s.get("error"), s.get("n_frames"))
                   for s in run["samples"]}
        out[run["name"]] = {"metrics": metrics, "samples": samples, "n_samples": run["n_samples"]}
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(nproc: int, *args) -> list:
    """The command line of ``python -m torch.distributed.run`` with ``nproc`` local CPU processes."""
    return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", "--master_addr=127.0.0.1",
            f"--master_port={free_port()}", *map(str, args)]


def subprocess_env(weights: Path, torch_home: Path) -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                OMP_NUM_THREADS="1", TALKINGFACE_CHECKPOINTS=str(weights), TORCH_HOME=str(torch_home))


def _worker(mode: str, bad_rank: int, base: str, out: str) -> int:
    from talkingface.errors import KitError
    from talkingface.evaluation import evaluate
    from talkingface.metrics import create_metric

    rank = int(os.environ["RANK"])

    def factory(name, device="cpu", **opts):
        if rank == bad_rank and mode == "hang":
            time.sleep(600)
        if rank == bad_rank:
            raise RuntimeError(f"injected failure in rank {rank}")
        return create_metric(name, device=device, **opts)

    try:
        evaluate(base, None, out, metric_factory=factory, distributed=True, shard_wait_minutes=0.1,
                 **{**OPTIONS, "metrics": ["psnr"]})
    except (KitError, RuntimeError) as exc:
        print(f"rank {rank}: {exc}", flush=True)
        return 3
    print(f"rank {rank}: ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
