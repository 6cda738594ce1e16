#!/usr/bin/env python3
"""Writes tests/data/golden/csim.json: DaGAN's own CSIM code (utils.py ``evaluate_PRMSE_AUCON``) run on face images.

    TQDM_DISABLE=1 python scripts/golden_dagan_csim.py --dagan_repo DIR [--out tests/data/golden]

DIR: a checkout of harlanhong/CVPR2022-DaGAN (never committed here); its commit is read with git and a modified
checkout is refused. The function's source is taken from their ``utils.py`` with ``ast`` and executed unchanged
(utils.py itself imports training-only packages: depth, sklearn, pandas, matplotlib), with the module globals the
function uses (``STUBS`` says exactly what was provided). Their loop reads ``sys.argv[1]`` as a folder holding
``gt/``, ``generate/`` and ``source/`` images of the same names; it is run once per image pair (one pair in the
folder: the printed CSIM is that pair's value) and once on all pairs together (the printed mean).

Weights: MTCNN is facenet-pytorch's packaged P/R/O-Nets (real weights); ``InceptionResnetV1(pretrained='vggface2')``
finds the formula weights of ``tests/metrics/_facenet_weights.py`` where facenet-pytorch caches the published file
(``$TORCH_HOME/checkpoints/20180402-114759-vggface2.pt``, TORCH_HOME a temporary folder), so nothing is downloaded
and nothing of their code or of facenet-pytorch is patched.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import io
import json
import os
import platform
import re
import sys
import tempfile
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "metrics")]
sys.dont_write_bytecode = True                  # leave the authors' checkout clean

import _facenet_weights as fw  # noqa: E402
import numpy as np  # noqa: E402
from make_golden import authors_commit  # noqa: E402

from talkingface.errors import KitError, cli_main  # noqa: E402
from talkingface.fsutil import write_text_atomic  # noqa: E402

AUTHORS_REPO = "https://github.com/harlanhong/CVPR2022-DaGAN"
FUNCTION = "evaluate_PRMSE_AUCON"
FEAT_STUB_MESSAGE = "feat stub: py-feat's Detector is not installed (PRMSE/AUCON only, not CSIM)"
STUBS = [
    "the function's module globals, as utils.py imports them: os, sys, math, numpy as np, torch, "
    "`from tqdm import tqdm`, `from PIL import Image` (the rest of utils.py is not executed: it imports depth, "
    "sklearn, pandas, matplotlib, none of which CSIM uses)",
    f"`feat` (py-feat, for PRMSE/AUCON only): a module whose Detector().detect_image raises RuntimeError("
    f"'{FEAT_STUB_MESSAGE}'); their first try/except prints it and skips PRMSE/AUCON, the CSIM try runs as written",
    "sys.argv[1] = the image folder (their CLI argument); the working directory a temporary folder (their "
    "mtcnn(..., save_path='src.jpg' / 'dst.jpg') writes the crops there)",
    "TORCH_HOME = a temporary folder whose checkpoints/20180402-114759-vggface2.pt holds the formula weights "
    "(facenet-pytorch's load_weights finds it there and does not download)",
]
CSIM_LINE = re.compile(r"PRMSE: (\S+), AUCON : (\S+), CSIM: (\S+)")


def authors_function(repo: Path):
    """Their ``evaluate_PRMSE_AUCON``, compiled from utils.py's own text, with its globals (see STUBS)."""
    import math

    import torch
    from PIL import Image
    from tqdm import tqdm

    path = repo / "utils.py"
    text = path.read_text(encoding="utf-8")
    node = next((n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == FUNCTION), None)
    if node is None:
        raise KitError(f"{path}: no function {FUNCTION}")
    source = ast.get_source_segment(text, node)
    namespace = {"__name__": "dagan_utils", "os": os, "sys": sys, "math": math, "np": np, "torch": torch,
                 "tqdm": tqdm, "Image": Image}
    exec(compile(source, str(path), "exec"), namespace)   # noqa: S102 — the authors' function, as written
    return namespace[FUNCTION], hashlib.sha256(source.encode()).hexdigest()


def feat_stub() -> types.ModuleType:
    class Detector:
        def detect_image(self, *args, **kwargs):
            raise RuntimeError(FEAT_STUB_MESSAGE)

    module = types.ModuleType("feat")
    module.Detector = Detector
    return module


def layout(folder: Path, cases: list[tuple[str, str, str]], images: dict) -> Path:
    """``folder/{gt,generate,source}/<case>.png`` (gt = the generated image: their loop lists gt/)."""
    from PIL import Image

    for sub in ("gt", "generate", "source"):
        (folder / sub).mkdir(parents=True)
    for case, src, gen in cases:
        Image.fromarray(images[src]).save(folder / "source" / f"{case}.png")
        for sub in ("gt", "generate"):
            Image.fromarray(images[gen]).save(folder / sub / f"{case}.png")
    return folder


def run_authors(function, folder: Path, workdir: Path) -> dict:
    """One call of their function on ``folder``: the printed CSIM and the CSIM exceptions their except printed."""
    out = io.StringIO()
    argv, cwd = sys.argv, os.getcwd()
    sys.argv = ["utils.py", str(folder)]
    os.chdir(workdir)
    try:
        with contextlib.redirect_stdout(out):
            function()
    finally:
        sys.argv = argv
        os.chdir(cwd)
    lines = out.getvalue().splitlines()
    found = [m for m in map(CSIM_LINE.search, lines) if m]
    if len(found) != 1:
        raise KitError(f"their function printed no (or several) CSIM lines: {lines[-3:]}")
    errors = [line for line in lines if line.strip() and FEAT_STUB_MESSAGE not in line and not CSIM_LINE.search(line)]
    return {"printed": float(found[0].group(3)), "errors": errors}


def environment() -> dict:
    from importlib.metadata import version

    import cv2
    import PIL
    import torch
    import torchvision

    return {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
            "numpy": np.__version__, "Pillow": PIL.__version__, "opencv": cv2.__version__,
            "scikit-image": version("scikit-image"), "facenet-pytorch": version("facenet-pytorch"),
            "tqdm": version("tqdm"), "torch_threads": torch.get_num_threads()}


def mtcnn_files() -> dict:
    import facenet_pytorch

    data = Path(facenet_pytorch.__file__).parent / "data"
    return {f"{net}.pt": hashlib.sha256((data / f"{net}.pt").read_bytes()).hexdigest() for net in ("pnet", "rnet",
                                                                                                    "onet")}


def make(repo: Path, out: Path) -> dict:
    repo = repo.resolve()
    info = authors_commit(repo, None)
    function, source_sha = authors_function(repo)
    images = {name: fw.make_image(name) for name in fw.IMAGES}
    per_case = []
    with tempfile.TemporaryDirectory(prefix="golden_csim_") as tmp:
        tmp = Path(tmp)
        weights, digest = fw.write_facenet_file(tmp / "torch_home" / "checkpoints" / fw.FACENET_FILE)
        old_home, old_feat = os.environ.get("TORCH_HOME"), sys.modules.get("feat")
        os.environ["TORCH_HOME"] = str(tmp / "torch_home")
        sys.modules["feat"] = feat_stub()
        try:
            for case in fw.CASES:
                res = run_authors(function, layout(tmp / "pairs" / case[0], [case], images), tmp)
                skipped = bool(res["errors"])            # their except printed why the pair was skipped
                per_case.append({"case": case[0], "source": case[1], "generated": case[2],
                                 "csim": None if skipped else res["printed"], "printed": res["printed"],
                                 "skipped": "; ".join(res["errors"]) if skipped else None})
            together = run_authors(function, layout(tmp / "all", fw.CASES, images), tmp)
        finally:
            if old_home is None:
                os.environ.pop("TORCH_HOME", None)
            else:
                os.environ["TORCH_HOME"] = old_home
            if old_feat is None:
                sys.modules.pop("feat", None)
            else:
                sys.modules["feat"] = old_feat
    values = [c["csim"] for c in per_case if c["csim"] is not None]
    doc = {
        "command": "TQDM_DISABLE=1 .venv/bin/python scripts/golden_dagan_csim.py --dagan_repo <DAGAN_REPO>",
        "authors": {"repository": AUTHORS_REPO, **info, "file": "utils.py", "function": FUNCTION,
                    "function_sha256": source_sha, "stubs": STUBS},
        "environment": environment(),
        "weights": {"facenet": {"formula": fw.RULES, "state_sha256": digest, "file": fw.FACENET_FILE,
                                "written_by": "tests/metrics/_facenet_weights.write_facenet_file (torch.save of "
                                              "a plain state dict, as the published file)"},
                    "mtcnn": {"source": "facenet-pytorch's packaged data/ (real weights)", "sha256": mtcnn_files()}},
        "images": {name: {"recipe": fw.IMAGES[name], "shape": list(images[name].shape),
                          "sha256": fw.image_sha256(images[name])} for name in fw.IMAGES},
        "printed_note": "their loop prints CSIM / csim_counter with the counter starting at 1e-9: a pair's printed "
                        "value is csim / (1 + 1e-9) (0.0 when skipped), the mean sum / (n + 1e-9)",
        "cases": per_case,
        "all_pairs": {"printed": together["printed"], "n_used": len(values), "n_skipped": len(per_case) - len(values),
                      "skipped_messages": together["errors"], "mean_of_cases": float(np.mean(values))},
    }
    if abs(together["printed"] - doc["all_pairs"]["mean_of_cases"]) > 1e-6:
        raise KitError(f"their mean {together['printed']} differs from the mean of their per-pair values")
    spread = max(values) - min(values)
    if spread < 0.1:
        raise KitError(f"CSIM values span only {spread:.4f}: the formula weights make every face alike")
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "csim.json", json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return doc


@cli_main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dagan_repo", type=Path, required=True, help="checkout of harlanhong/CVPR2022-DaGAN")
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "golden")
    args = parser.parse_args(argv)
    doc = make(args.dagan_repo, args.out)
    for case in doc["cases"]:
        print(f"{case['case']:>18}: {case['csim'] if case['csim'] is not None else 'skipped: ' + case['skipped']}")
    print(f"all pairs: {doc['all_pairs']['printed']} ({doc['all_pairs']['n_used']} used)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
