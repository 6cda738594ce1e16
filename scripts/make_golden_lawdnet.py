#!/usr/bin/env python3
"""Writes tests/data/golden/lawdnet.{npz,json}: the LawDNet and DINet authors' networks on formula weights and inputs.

    python scripts/make_golden_lawdnet.py --lawdnet_repo DIR --dinet_repo DIR [--out tests/data/golden]

DIR: checkouts of iPaw-AI-LAB/LawDNet_2024 and MRzzm/DINet (never committed here; only the files in
golden_authors_lawdnet.FILES_* need to be checked out). Their commits are read with git, and the files that run must
be unmodified (or give --lawdnet_commit / --dinet_commit). The weights are tests/golden_weights.py's formula,
written in the authors' checkpoint formats by lawdnet.checkpoint.save_checkpoint and loaded by the authors' own
lines; the inputs are golden_weights.lawdnet_inputs (integer formula, no RNG). The npz keeps sub-sampled output
grids and the AdaAT / cross-attention codes; the json the provenance, full-output channel means and sanity checks.
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(Path(__file__).resolve().parent)]
sys.dont_write_bytecode = True                  # leave the authors' checkouts clean

import golden_authors_lawdnet as authors  # noqa: E402
import golden_weights  # noqa: E402
import numpy as np  # noqa: E402
from make_golden import sha256, write_json, write_npz  # noqa: E402

from talkingface.errors import KitError, cli_main  # noqa: E402

#: (model, mouth) -> stride of the stored output grid (the whole output is summarised by its channel means)
KEEP = {("lawdnet", 288): 6, ("lawdnet", 64): 2, ("dinet", 256): 8, ("dinet", 64): 2}
CHECK_MIN = {"output_min_std": 0.1, "audio_effect_min_mean_abs": 0.005, "warp_min_relative_change": 0.1,
             "lawdnet_attention_min_max_weight": 0.1, "trans_para_audio_min_mean_abs": 0.01}
CHECK_MAX = {"output_max_saturated_fraction": 0.05, "lawdnet_attention_max_entropy_ratio": 0.9}


def commit_of(repo: Path, files: list[str], given: str | None) -> dict:
    if given:
        return {"commit": given, "commit_from": "--*_commit argument"}
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "--",
                                *files], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise KitError(f"{repo}: not a git checkout; give its commit with --lawdnet_commit / --dinet_commit") from exc
    if dirty:
        raise KitError(f"{repo}: the authors' files are modified or missing ({dirty.splitlines()[0]} ...)")
    return {"commit": commit, "commit_from": "git rev-parse HEAD (the files that ran unmodified: git status)"}


def environment() -> dict:
    import torch
    import torchvision

    return {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
            "numpy": np.__version__, "torch_threads": torch.get_num_threads(),
            "torchvision_resize_antialias_default": "True (torchvision >= 0.17 Resize on tensors)"}


def grid(j: int, step: int) -> list[int]:
    """[row offset, column offset, step] of the pixels kept of the j-th stored output."""
    return [j % step, (3 * j + 1) % step, step]


def checks_of(model: str, res: dict) -> dict:
    out = res["out"]
    c = {"output_min_std": float(out.std()),
         "output_max_saturated_fraction": float(((out < 0.01) | (out > 0.99)).mean()),
         "audio_effect_min_mean_abs": float(np.abs(out[0] - out[1]).mean()),
         "trans_para_audio_min_mean_abs": float(np.abs(res["trans_para"][0] - res["trans_para"][1]).mean()),
         "warp_min_relative_change": float(np.abs(res["warp_out"] - res["warp_in"]).mean()
                                           / np.abs(res["warp_in"]).mean())}
    if model == "lawdnet":
        att = res["attention"]
        entropy = float(-(att * np.log(np.maximum(att, 1e-12))).sum(-1).mean())
        c["lawdnet_attention_min_max_weight"] = float(att.max(-1).mean())
        c["lawdnet_attention_max_entropy_ratio"] = entropy / float(np.log(att.shape[-1]))
    return c


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lawdnet_repo", type=Path, required=True)
    ap.add_argument("--dinet_repo", type=Path, required=True)
    ap.add_argument("--lawdnet_commit")
    ap.add_argument("--dinet_commit")
    ap.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "golden")
    args = ap.parse_args(argv)
    prov = {"LawDNet_2024": commit_of(args.lawdnet_repo, authors.FILES_LAWDNET, args.lawdnet_commit),
            "DINet": commit_of(args.dinet_repo, authors.FILES_DINET, args.dinet_commit)}
    mouths = {m: sorted({mo for (mm, mo) in KEEP if mm == m}) for m in ("lawdnet", "dinet")}
    inputs = {mo: golden_weights.lawdnet_inputs(mo) for mo in sorted({mo for _, mo in KEEP})}
    arrays, grids, means, checks, digests = {}, {}, {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="lawdnet_golden_") as tmp:
        for model, run, repo in (("lawdnet", authors.run_lawdnet, args.lawdnet_repo),
                                 ("dinet", authors.run_dinet, args.dinet_repo)):
            path, digests[model] = golden_weights.write_lawdnet_file(Path(tmp) / f"{model}.pth", model)
            res = run(repo, path, {mo: inputs[mo] for mo in mouths[model]})
            for mo, r in res.items():
                name = f"{model}_{mo}"
                row, col, step = grids[name] = grid(len(grids), KEEP[(model, mo)])
                arrays[f"{name}_out"] = np.ascontiguousarray(r["out"][:, :, row::step, col::step])
                arrays[f"{name}_trans_para"] = r["trans_para"].astype(np.float32)
                means[name] = r["out"].astype(np.float64).mean(axis=(2, 3)).tolist()
                checks[name] = checks_of(model, r)
                print(f"{name}: {checks[name]}")
    bad = {n: {k: v for k, v in c.items() if (k in CHECK_MIN and v < CHECK_MIN[k])
               or (k in CHECK_MAX and v > CHECK_MAX[k])} for n, c in checks.items()}
    bad = {n: c for n, c in bad.items() if c}
    if bad:
        raise KitError(f"the formula weights make a near-trivial output: {bad} (limits {CHECK_MIN}, {CHECK_MAX})")
    write_npz(args.out / "lawdnet.npz", arrays)
    write_json(args.out / "lawdnet.json", {
        "command": "TQDM_DISABLE=1 .venv/bin/python scripts/make_golden_lawdnet.py --lawdnet_repo <LAWDNET_REPO> "
                   "--dinet_repo <DINET_REPO>",
        "environment": environment(),
        "authors": {"LawDNet_2024": {"repository": "iPaw-AI-LAB/LawDNet_2024", **prov["LawDNet_2024"],
                                     "files": authors.FILES_LAWDNET, "stubs": authors.STUBS_LAWDNET},
                    "DINet": {"repository": "MRzzm/DINet", **prov["DINet"], "files": authors.FILES_DINET,
                              "stubs": authors.STUBS_DINET},
                    "modules_stubbed": sorted(set(authors.STUBBED))},
        "weights": {"formula": golden_weights.LAWDNET_RULES, "state_sha256": digests,
                    "networks": "LawDNet(3, 15, 29, 2, 5, 60) in checkpoint_epoch_N.pth (with net_dI, net_dV); "
                                "DINet(3, 15, 29) in netG_model_epoch_N.pth (with net_dI); keys with 'module.'",
                    "written_by": "tests/golden_weights.write_lawdnet_file (lawdnet.checkpoint.save_checkpoint)"},
        "inputs": {**golden_weights.LAWDNET_INPUTS,
                   "sha256": {str(mo): {k: sha256(np.ascontiguousarray(v).tobytes()) for k, v in a.items()}
                              for mo, a in inputs.items()}},
        "grids": grids, "full_means": means, "checks": checks, "check_min": CHECK_MIN, "check_max": CHECK_MAX,
        "arrays": {k: list(v.shape) for k, v in sorted(arrays.items())}})
    size = (args.out / "lawdnet.npz").stat().st_size
    print(f"lawdnet golden: {len(arrays)} arrays, {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(cli_main(main)())
