"""Runs syncnet_python's own ``SyncNetInstance.evaluate`` (a checkout of joonson/syncnet_python) for make_golden.py.

The evaluation is theirs, unchanged: ``SyncNetInstance()``, ``loadParameters(path)``, ``evaluate(opt, videofile)``
with demo_syncnet.py's defaults (batch_size 20, vshift 15). It shells out to ``ffmpeg``: the kit's pinned binary is
put first on PATH. ``STUBS`` lists what had to be replaced (only the CUDA transfers: there is no GPU here).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

STUBS = [
    "torch.nn.Module.cuda and torch.Tensor.cuda return the object itself while evaluate runs: SyncNetInstance "
    "moves the network and every batch to CUDA unconditionally (S(...).cuda(), im_in.cuda(), cc_in.cuda()); no GPU "
    "here, so they stay on the CPU. Restored afterwards",
    "`ffmpeg` on PATH = a symlink to the kit's pinned binary (talkingface.media.ffmpeg_exe()) in a temporary folder "
    "put first on PATH; evaluate runs `ffmpeg` through the shell",
    "LSE-D (min dist) is printed, not returned, by evaluate: it is recomputed from the returned per-window "
    "distances with evaluate's own expressions (torch.mean(torch.stack(dists, 1), 1), torch.min)",
]
AUTHORS_FILES = ["SyncNetInstance.py", "SyncNetModel.py", "demo_syncnet.py (defaults: batch_size 20, vshift 15)"]
OPT = {"batch_size": 20, "vshift": 15, "reference": "golden"}


@contextlib.contextmanager
def _cpu_only_cuda():
    import torch

    module_cuda, tensor_cuda = torch.nn.Module.cuda, torch.Tensor.cuda
    torch.nn.Module.cuda = lambda self, *a, **k: self
    torch.Tensor.cuda = lambda self, *a, **k: self
    try:
        yield
    finally:
        torch.nn.Module.cuda, torch.Tensor.cuda = module_cuda, tensor_cuda


@contextlib.contextmanager
def _pinned_ffmpeg_first_on_path(ffmpeg: str):
    old = os.environ.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="golden_ffmpeg_") as tmp:
        os.symlink(ffmpeg, os.path.join(tmp, "ffmpeg"))
        os.environ["PATH"] = tmp + os.pathsep + old
        try:
            yield
        finally:
            os.environ["PATH"] = old


def run(repo: Path, weights: Path, clip: Path, ffmpeg: str) -> dict:
    """``{"offset", "lse_d", "lse_c", "mdist" (31,), "dists" (windows, 31) float32, "log"}`` from their evaluate."""
    import torch

    repo, weights, clip = Path(repo).resolve(), Path(weights).resolve(), Path(clip).resolve()
    sys.path.insert(0, str(repo))
    try:
        import SyncNetInstance as authors  # noqa: N813 — their module name
    finally:
        sys.path.remove(str(repo))
    with tempfile.TemporaryDirectory(prefix="golden_syncnet_") as tmp, _cpu_only_cuda(), \
            _pinned_ffmpeg_first_on_path(ffmpeg), tempfile.TemporaryFile("w+") as log, \
            contextlib.redirect_stdout(log):
        opt = argparse.Namespace(tmp_dir=tmp, **OPT)
        s = authors.SyncNetInstance()
        s.loadParameters(str(weights))
        offset, conf, dists_npy = s.evaluate(opt, videofile=str(clip))
        log.seek(0)
        printed = log.read()
    dists = [torch.from_numpy(d) for d in dists_npy]
    mdist = torch.mean(torch.stack(dists, 1), 1)
    minval, minidx = torch.min(mdist, 0)
    if int(offset) != OPT["vshift"] - int(minidx):
        raise RuntimeError(f"recomputed argmin {int(minidx)} disagrees with evaluate's offset {int(offset)}")
    return {"offset": int(offset), "lse_d": float(minval), "lse_c": float(conf), "mdist": mdist.numpy(),
            "dists": np.asarray(dists_npy, dtype=np.float32), "log": printed}
