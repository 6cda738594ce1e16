"""Runs the LawDNet authors' FaceAlign / SmoothSqMask (a checkout of iPaw-AI-LAB/LawDNet_2024) for make_golden_align.py.

Their ``tensor_processing.py`` is imported from the checkout (it imports ``torch_affine_ops`` with ``*`` and then
defines its own ``warp_img_torch``, the one FaceAlign calls). They are used as
``Exp-of-Junli/inference_function_DP2.py`` uses them: ``FaceAlign(ratio=1.6)``,
``facealigner(frames, landmarks, out_W)``, ``SmoothSqMask()(aligned / 255)``,
``facealigner.recover(generated, frames, matrix)``. What had to be stubbed is in ``STUBS_BASE`` plus what
``_stub_imports`` reports (nothing of the computation).
"""
from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np

AUTHORS_FILES = ["tensor_processing.py", "torch_affine_ops.py"]
STUBS_BASE = [
    "device='cpu' for FaceAlign(ratio=1.6, device='cpu') and SmoothSqMask(device='cpu') (their inference passes its "
    "cuda device; no GPU here)",
    "SmoothSqMask.__init__ default device 'cuda' -> 'cpu': FaceAlign.__init__ builds SmoothSqMask() with the default "
    "for its `feather` (used only by FaceAlign.feathering, which nothing calls) and a CUDA tensor cannot be made here",
    "recover() is given a clone of the frames: for a batch of one its permute(1, 0, 2, 3).contiguous() is a view and "
    "the paste would also write into the caller's frames",
    "torch.set_num_threads(1) around recover(): the CPU index_put it uses picks an arbitrary winner among crop pixels "
    "landing on one frame pixel when run on several threads; one thread gives the serial order (last one wins)",
]


def _stub_imports() -> list[str]:
    """Empty stand-ins for plotting / image-I/O modules tensor_processing imports but the aligner never uses."""
    stubbed = []

    def module(name: str) -> types.ModuleType:
        m = types.ModuleType(name)
        m.__file__ = f"<stub {name}: see golden_authors_align._stub_imports>"
        return m

    if importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = module("matplotlib")
        sys.modules["matplotlib.pyplot"] = module("matplotlib.pyplot")
        sys.modules["matplotlib"].pyplot = sys.modules["matplotlib.pyplot"]
        stubbed.append("matplotlib, matplotlib.pyplot: imported at the top of tensor_processing.py (for "
                       "save_feature_map only) and not in the kit's venv; empty modules")
    if importlib.util.find_spec("cv2") is None:
        sys.modules["cv2"] = module("cv2")
        stubbed.append("cv2: imported at the top of tensor_processing.py (for save_feature_map only); an empty module")
    return stubbed


@contextlib.contextmanager
def _on_path(repo: Path):
    old = list(sys.path)
    sys.path.insert(0, str(repo))
    try:
        yield
    finally:
        sys.path[:] = old


def load_authors(repo: Path):
    """(tensor_processing module, list of what was stubbed)."""
    stubbed = _stub_imports()
    with _on_path(repo):
        import tensor_processing
    if Path(tensor_processing.__file__).resolve().parent != repo.resolve():
        raise RuntimeError(f"imported {tensor_processing.__file__}, not the checkout {repo}")
    init = tensor_processing.SmoothSqMask.__init__
    defaults = list(init.__defaults__)
    defaults[-1] = "cpu"                                      # device (see STUBS_BASE)
    init.__defaults__ = tuple(defaults)
    return tensor_processing, stubbed


def run(repo: Path, frames: np.ndarray, landmarks: np.ndarray, out_ws: list[int],
        generated: dict[int, np.ndarray], mask_sizes: list[tuple[int, int]]) -> tuple[dict, list[str]]:
    """The authors' outputs: per out_W the matrices, aligned faces and landmarks, the masked aligned faces /255 and
    the recover()ed frames for ``generated[out_W]``; per mask size the mask (1 - SmoothSqMask(ones)).

    frames: (B, 3, H, W) float32 0-255 RGB; landmarks: (B, 68, 2) float32. Returns ({name: array}, stubs)."""
    import torch

    tp, stubbed = load_authors(repo)
    aligner = tp.FaceAlign(ratio=1.6, device="cpu")
    masker = tp.SmoothSqMask(device="cpu")
    frames_t = torch.from_numpy(frames)
    lms_t = torch.from_numpy(landmarks)
    out: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for out_w in out_ws:
            aligned, lm_aligned, matrix = aligner(frames_t, lms_t, out_W=out_w)
            out[f"matrices_{out_w}"] = matrix.numpy()
            out[f"aligned_{out_w}"] = aligned.numpy()
            out[f"aligned_landmarks_{out_w}"] = lm_aligned.numpy()
            out[f"masked_{out_w}"] = masker(aligned / 255.0).numpy()
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                pasted = aligner.recover(torch.from_numpy(generated[out_w]), frames_t.clone(), matrix)
            finally:
                torch.set_num_threads(threads)
            out[f"recovered_{out_w}"] = pasted.numpy()
        for h, w in mask_sizes:
            out[f"mask_{h}x{w}"] = (1 - masker(torch.ones(1, 1, h, w)))[0, 0].numpy()
    return out, STUBS_BASE + stubbed
