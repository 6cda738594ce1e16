#!/usr/bin/env python3
"""Writes tests/data/golden/aed.json + aed.npz: FOMM's AED as the authors' code computes it, on formula weights.

    TQDM_DISABLE=1 python scripts/golden_pose_evaluation_aed.py --pose_eval_repo DIR --openface_repo DIR \
        [--pandas_path DIR] [--out tests/data/golden] [--layout tests/data/layouts/openface_nn4_small2.json]

Runs, copied to a temporary folder (nothing of theirs is committed here): AliaksandrSiarohin/pose-evaluation's
``extract.py`` ``extract_face_id`` (with its ``util.frames2array``) on PNGs of the pairs of
``tests/metrics/_openface_weights.py``, with OpenFacePytorch's ``loadOpenFace.prepareOpenFace`` (netOpenFace +
``SpatialCrossMapLRN_temp``), then ``cmp.py gt.pkl gen.pkl`` (its per-frame ``scores`` and printed mean). The formula
weights are written as ``openface.pth`` next to their ``loadOpenFace.py``, where ``prepareOpenFace`` reads it. The
layout JSON lists the keys/shapes of THEIR ``netOpenFace`` module tree. pandas (cmp/extract need it; not in the
kit's venv): ``pip install --target DIR pandas`` and pass ``--pandas_path DIR``. The shims (``SHIMS``) replace only
what modern torch / scikit-image / a CPU machine lack and are recorded in the json.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import runpy
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "metrics"), str(Path(__file__).parent)]
sys.dont_write_bytecode = True

import _openface_weights as ow  # noqa: E402
import golden_weights as gw  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from make_golden import authors_commit, sha256, write_json, write_npz  # noqa: E402

SHIMS = {
    "torch.legacy": "modules torch.legacy.nn.Module (class Module: __init__ sets output = gradInput = torch.Tensor(); "
                    "forward(x) = self.updateOutput(x), as torch 0.4.1's legacy Module) and torch.legacy.nn.utils "
                    "(clear: no-op, used by clearState only): torch.legacy was removed in torch 1.0; "
                    "SpatialCrossMapLRN_temp's own updateOutput runs unchanged (its deprecated add_(1, t) overload "
                    "still works)",
    "cuda": "torch.nn.Module.cuda and torch.Tensor.cuda return self (CPU machine); extract_face_id and "
            "netOpenFace call .cuda() unconditionally. Numerics: CPU float32 instead of GPU float32",
    "extract.resize": "functools.partial(skimage.transform.resize, order=1, mode='constant', anti_aliasing=False): "
                      "scikit-image 0.14.0's defaults (requirements.txt pins 0.14.0; its resize warns and uses "
                      "mode='constant', anti_aliasing=False when not given), made explicit because scikit-image "
                      ">= 0.15 anti-aliases by default. Bilinear sample points are all inside the image (256 -> 96), "
                      "so mode does not matter; check 'resize_vs_bilinear' compares with a direct numpy bilinear",
    "pandas": "installed outside the kit's venv (pip --target) and put on sys.path",
}


def install_shims() -> None:
    class LegacyModule:
        def __init__(self):
            self.output = torch.Tensor()
            self.gradInput = torch.Tensor()

        def forward(self, x):
            return self.updateOutput(x)

    mods = {name: types.ModuleType(name) for name in
            ("torch.legacy", "torch.legacy.nn", "torch.legacy.nn.Module", "torch.legacy.nn.utils")}
    mods["torch.legacy.nn.Module"].Module = LegacyModule
    mods["torch.legacy.nn.utils"].clear = lambda *args, **kwargs: None
    sys.modules.update(mods)
    if not torch.cuda.is_available():
        torch.nn.Module.cuda = lambda self, *a, **k: self
        torch.Tensor.cuda = lambda self, *a, **k: self


def bilinear_check(img: np.ndarray, size: int = 96) -> float:
    """max |skimage resize (0.14 defaults) - numpy bilinear at x_out = (i + 0.5) * in / out - 0.5|."""
    from skimage.transform import resize

    f = img.astype(np.float64) / 255.0
    def axis(n_in):
        c = (np.arange(size) + 0.5) * n_in / size - 0.5
        i0 = np.floor(c).astype(int)
        return i0, np.minimum(i0 + 1, n_in - 1), c - i0
    r0, r1, wr = axis(img.shape[0])
    c0, c1, wc = axis(img.shape[1])
    rows = f[r0] * (1 - wr)[:, None, None] + f[r1] * wr[:, None, None]
    ref = rows[:, c0] * (1 - wc)[None, :, None] + rows[:, c1] * wc[None, :, None]
    got = resize(img, (size, size), order=1, mode="constant", anti_aliasing=False)
    return float(np.abs(got - ref).max())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pose_eval_repo", required=True, type=Path)
    ap.add_argument("--openface_repo", required=True, type=Path)
    ap.add_argument("--pandas_path", type=Path)
    ap.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "golden")
    ap.add_argument("--layout", type=Path, default=REPO / "tests" / "data" / "layouts" / "openface_nn4_small2.json")
    args = ap.parse_args(argv)
    if args.pandas_path:
        sys.path.insert(0, str(args.pandas_path))
    pe_commit = authors_commit(args.pose_eval_repo, None)
    of_commit = authors_commit(args.openface_repo, None)
    pinned = subprocess.run(["git", "-C", str(args.pose_eval_repo), "ls-tree", "HEAD", "OpenFacePytorch"],
                            capture_output=True, text=True, check=True).stdout.split()[2]
    torch.set_num_threads(1)
    install_shims()
    work = Path(tempfile.mkdtemp(prefix="aed_golden_"))
    try:
        code = work / "pe"
        (code / "OpenFacePytorch").mkdir(parents=True)
        for name in ("extract.py", "util.py", "cmp.py"):
            shutil.copy(args.pose_eval_repo / name, code / name)
        for name in ("loadOpenFace.py", "SpatialCrossMapLRN_temp.py"):
            shutil.copy(args.openface_repo / name, code / "OpenFacePytorch" / name)
        sys.path.insert(0, str(code))
        import extract
        from OpenFacePytorch import loadOpenFace
        from OpenFacePytorch.SpatialCrossMapLRN_temp import SpatialCrossMapLRN_temp
        from skimage.transform import resize

        extract.resize = functools.partial(resize, order=1, mode="constant", anti_aliasing=False)
        state = loadOpenFace.netOpenFace(useCuda=False).state_dict()
        layout = {k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")} for k, v in state.items()}
        args.layout.write_text(json.dumps(layout, indent=1) + "\n", encoding="utf-8")
        weights = ow.openface_state(state)
        torch.save(weights, code / "OpenFacePytorch" / "openface.pth")

        from imageio import v2 as iio
        pairs = ow.make_pairs()
        for side, idx in (("gen", 0), ("gt", 1)):
            (work / side).mkdir()
            for name, pair in pairs.items():
                iio.imwrite(work / side / f"{name}.png", pair[idx])
        frames = {}
        for side in ("gen", "gt"):
            df = extract.extract_face_id(False, str(work / side), (256, 256), 0)
            df.to_pickle(work / f"id_{side}.pkl")
            frames[side] = {f.split(".")[0]: np.asarray(v, np.float32).reshape(-1) for f, v in
                            zip(df["file_name"], df["value"], strict=True)}
        out = io.StringIO()
        argv_saved, sys.argv = sys.argv, ["cmp.py", str(work / "id_gt.pkl"), str(work / "id_gen.pkl")]
        try:
            with contextlib.redirect_stdout(out):
                ns = runpy.run_path(str(code / "cmp.py"), run_name="__main__")
        finally:
            sys.argv = argv_saved
        names = sorted(pairs)                        # cmp.py sorts by file name
        scores = dict(zip(names, [float(s) for s in ns["scores"]], strict=True))
        probe = torch.from_numpy(ow.lrn_probe())
        lrn_out = SpatialCrossMapLRN_temp(5, 0.0001, 0.75, 1.0).forward(probe.clone()).numpy().copy()
        face = pairs["flip"][1]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    import imageio
    import pandas
    import scipy
    import skimage

    doc = {
        "what": "AED per pair (generated, ground truth) by pose-evaluation extract_face_id + cmp.py",
        "pose_evaluation": {"repo": "AliaksandrSiarohin/pose-evaluation", **pe_commit,
                            "files": ["extract.py (extract_face_id)", "util.py (frames2array)", "cmp.py"]},
        "openface_pytorch": {"repo": "thnkim/OpenFacePytorch", **of_commit, "pinned_by_pose_evaluation": pinned,
                             "files": ["loadOpenFace.py (prepareOpenFace, netOpenFace)", "SpatialCrossMapLRN_temp.py"]},
        "call": "extract_face_id(is_video=False, in_folder, image_shape=(256, 256), column=0) on gen/ and gt/ "
                "(one PNG per pair, same names), then cmp.py id_gt.pkl id_gen.pkl",
        "shims": SHIMS,
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "numpy": np.__version__,
                     "scipy": scipy.__version__, "skimage": skimage.__version__, "pandas": pandas.__version__,
                     "imageio": imageio.__version__, "torch_threads": torch.get_num_threads()},
        "weights": {"rules": ow.rules(), "state_sha256": gw.state_digest({"openface": weights})},
        "pairs": {name: {"generated": ow.PAIRS[name][0], "ground_truth": ow.PAIRS[name][1],
                         "sha256": [sha256(np.ascontiguousarray(p).tobytes()) for p in pairs[name]]}
                  for name in names},
        "distances": scores,
        "mean": float(np.mean(list(scores.values()))),
        "cmp_stdout": out.getvalue().strip(),
        "checks": {"resize_vs_bilinear": bilinear_check(face),
                   "distance_min": min(scores.values()), "distance_max": max(scores.values())},
        "npz": {"emb_gen": "(8, 128) float32 embeddings of the generated images, in 'order'",
                "emb_gt": "(8, 128) ground truth", "lrn_in": "lrn_probe()", "lrn_out": "SpatialCrossMapLRN_temp"
                "(5, 1e-4, 0.75, 1).forward(lrn_in)"},
        "order": names,
    }
    write_npz(args.out / "aed.npz", {"emb_gen": np.stack([frames["gen"][n] for n in names]),
                                     "emb_gt": np.stack([frames["gt"][n] for n in names]),
                                     "lrn_in": probe.numpy(), "lrn_out": lrn_out})
    write_json(args.out / "aed.json", doc)
    print(json.dumps({"distances": scores, "mean": doc["mean"], "checks": doc["checks"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
