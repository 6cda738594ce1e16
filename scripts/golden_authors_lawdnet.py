"""Runs the LawDNet and DINet authors' own networks (checkouts of iPaw-AI-LAB/LawDNet_2024 and MRzzm/DINet) on formula
weights, for make_golden_lawdnet.py.

Each generator is built and loaded exactly as the authors' inference does it (``Exp-of-Junli/inference_function.py``:
``LawDNet(opt.source_channel, ..., opt.coarse_grid_size)``, ``torch.load(p)['state_dict']['net_g']``, keys ``k[7:]``,
``load_state_dict``, ``eval()``; DINet ``inference.py`` the same with ``DINet(3, 15, 29)``) and called on the golden's
inputs under ``torch.no_grad()``. Intermediates for the sanity checks are read with forward hooks on the authors'
modules (nothing of theirs is changed). What had to be stubbed is in ``STUBS``.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
import types
from collections import OrderedDict
from pathlib import Path

import numpy as np

STUBS_LAWDNET = [
    "matplotlib, matplotlib.pyplot: models/LawDNet.py imports matplotlib.pyplot (never used on this path) and "
    "matplotlib is not in the kit's venv; empty modules",
    "LawDNet(..., device='cpu'): the constructor's default device='cuda' puts torch_affine_ops.standard_grid on "
    "CUDA (the inference code relies on it); no GPU here, so the constructor is given device='cpu' (the grid is "
    "moved to the input's device in forward anyway)",
    "torch.cuda.amp.autocast() in LawDNet.forward / ImprovedCrossAttentionModel.forward: left as is; on a machine "
    "without CUDA it is a no-op (fp32), as on CPU inputs",
]
STUBS_DINET = [
    "DINet(...).cuda() of inference.py not called: the model runs on CPU (eval-mode SyncBN = F.batch_norm)",
]
FILES_LAWDNET = ["models/LawDNet.py", "models/CrossAttention.py", "models/__init__.py", "torch_affine_ops.py",
                 "sync_batchnorm/"]
FILES_DINET = ["models/DINet.py", "sync_batchnorm/"]
# packages both checkouts define: purged between the two runs
_SHARED = ("models", "sync_batchnorm", "torch_affine_ops")
#: the modules actually replaced by empty stubs in this run (the rest imported for real)
STUBBED: list[str] = []


def _stub(name: str) -> None:
    if name in sys.modules:
        return
    try:
        importlib.import_module(name)
    except ImportError:
        mod = types.ModuleType(name)
        mod.__file__ = f"<stub {name}: see golden_authors_lawdnet.STUBS_LAWDNET>"
        sys.modules[name] = mod
        STUBBED.append(name)


@contextlib.contextmanager
def _in_repo(repo: Path):
    """The checkout first on sys.path and as working directory; its packages forgotten afterwards."""
    def purge():
        for name in list(sys.modules):
            if name.split(".")[0] in _SHARED:
                del sys.modules[name]

    old_cwd, old_path = os.getcwd(), list(sys.path)
    purge()
    sys.path.insert(0, str(repo))
    os.chdir(repo)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        purge()


def _authors_state(path: Path):
    import torch

    state_dict = torch.load(str(path))["state_dict"]["net_g"]
    return OrderedDict((k[7:], v) for k, v in state_dict.items())


def _inputs(arrays: dict[str, np.ndarray]):
    import torch

    src = torch.from_numpy(arrays["source"].astype(np.float32) / np.float32(255)).unsqueeze(0).repeat(2, 1, 1, 1)
    ref = torch.from_numpy(arrays["reference"].astype(np.float32) / np.float32(255)).unsqueeze(0).repeat(2, 1, 1, 1)
    return src, ref, torch.from_numpy(arrays["audio"].copy())


def run_lawdnet(repo: Path, checkpoint: Path, inputs: dict[int, dict[str, np.ndarray]]) -> dict[int, dict]:
    """Per mouth size: ``out`` (2, 3, H, W), ``trans_para`` (2, 256), ``attention`` (2, 128, 128) recomputed from the
    hooked query/key projections with the authors' expression, and the last warp layer's input and output."""
    import torch

    for name in ("matplotlib", "matplotlib.pyplot", "cv2"):
        _stub(name)
    results: dict[int, dict] = {}
    with _in_repo(Path(repo).resolve()), torch.no_grad():
        from models.LawDNet import LawDNet

        net_g = LawDNet(3, 15, 29, 2, 5, 60, device="cpu")
        net_g.load_state_dict(_authors_state(checkpoint))
        net_g.eval()
        seen: dict[str, torch.Tensor] = {}
        hooks = [net_g.cross_attention.register_forward_hook(lambda m, i, o: seen.update(trans_para=o)),
                 net_g.cross_attention.query_proj.register_forward_hook(lambda m, i, o: seen.update(query=o)),
                 net_g.cross_attention.key_proj.register_forward_hook(lambda m, i, o: seen.update(key=o)),
                 net_g.lawLayer_list[1].register_forward_hook(
                     lambda m, i, o: seen.update(warp_in=i[0], warp_out=o))]
        for mouth, arrays in inputs.items():
            out = net_g(*_inputs(arrays)).float()
            scores = torch.bmm(seen["query"], seen["key"].transpose(1, 2)) / (256 ** 0.5)
            results[mouth] = {"out": out.numpy(), "trans_para": seen["trans_para"].float().numpy(),
                              "attention": torch.softmax(scores, dim=-1).numpy(),
                              "warp_in": seen["warp_in"].numpy(), "warp_out": seen["warp_out"].numpy()}
        for h in hooks:
            h.remove()
    return results


def run_dinet(repo: Path, checkpoint: Path, inputs: dict[int, dict[str, np.ndarray]]) -> dict[int, dict]:
    """Per mouth size: ``out`` (2, 3, H, W), ``trans_para`` (2, 256, the AdaAT code) and AdaAT's input and output."""
    import torch

    _stub("cv2")
    results: dict[int, dict] = {}
    with _in_repo(Path(repo).resolve()), torch.no_grad():
        from models.DINet import DINet

        model = DINet(3, 15, 29)
        model.load_state_dict(_authors_state(checkpoint))
        model.eval()
        seen: dict[str, torch.Tensor] = {}
        hook = model.adaAT.register_forward_hook(lambda m, i, o: seen.update(para=i[1], warp_in=i[0], warp_out=o))
        for mouth, arrays in inputs.items():
            out = model(*_inputs(arrays))
            results[mouth] = {"out": out.numpy(), "trans_para": seen["para"].numpy(),
                              "warp_in": seen["warp_in"].numpy(), "warp_out": seen["warp_out"].numpy()}
        hook.remove()
    return results
