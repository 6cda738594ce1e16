#!/usr/bin/env python3
"""Writes tests/data/golden/lawdnet_align.{npz,json}: the LawDNet authors' face alignment, mouth mask and paste-back.

    python scripts/make_golden_align.py --lawdnet_repo DIR [--out tests/data/golden]

DIR: a checkout of iPaw-AI-LAB/LawDNet_2024 (never committed here; only tensor_processing.py and torch_affine_ops.py
are needed, e.g. ``git -C MIRROR worktree add --no-checkout --detach DIR HEAD`` then ``git -C DIR checkout HEAD --
tensor_processing.py torch_affine_ops.py``). Its commit is read with git (or given with --lawdnet_commit); the two
files must be unmodified. Inputs are made here (skimage's astronaut photo, landmarks from a formula plus seeded noise,
a crop pattern from an integer formula) and stored or digested; scripts/golden_authors_align.py runs the authors' code.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]
sys.dont_write_bytecode = True                  # leave the authors' checkout clean

import golden_authors_align  # noqa: E402
import numpy as np  # noqa: E402
from make_golden import write_npz  # noqa: E402

OUT_WS = [360, 80]                              # mouth 288 and mouth 64 (out_W = int(1.25 mouth))
MASK_SIZES = [(468, 360), (104, 80), (60, 50)]
SEED = 20240917
#: (scale in px, rotation in degrees, (dx, dy)) of each face: mean shape x 130 px at (170, 90), then rotated and
#: scaled about (235, 155) and shifted
CASES = [(1.0, 0.0, (0, 0)), (1.25, 20.0, (6, -4)), (0.75, -12.0, (30, 20))]
INPUTS = {
    "frames": "skimage.data.astronaut() as float32 RGB 0-255, (3, 512, 512), the same for every case",
    "landmarks": "talkingface.landmarks.offline.mean_shape() * 130 + (170, 90), then per case rotated by `rotation` "
                 "degrees and scaled by `scale` about (235, 155), shifted by `shift`, plus "
                 "numpy.random.default_rng(seed).normal(0, 1.0, (3, 68, 2)); stored (float32) in the npz",
    "generated": "the crop pasted back: float32 ((7 i + 13 j + 85 c + 31 b) % 256) for row i, column j, channel c, "
                 "case b, shape (3, 3, int(1.3 out_W), out_W)",
}
GRID_STEP = {360: 8, 80: 4}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_inputs() -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    from skimage.data import astronaut

    from talkingface.landmarks.offline import mean_shape

    frame = astronaut().astype(np.float32).transpose(2, 0, 1)
    frames = np.ascontiguousarray(np.repeat(frame[None], len(CASES), axis=0))
    base = mean_shape().astype(np.float64) * 130 + [170, 90]
    centre = np.array([235.0, 155.0])
    noise = np.random.default_rng(SEED).normal(0, 1.0, (len(CASES), 68, 2))
    landmarks = []
    for (scale, degrees, shift), jitter in zip(CASES, noise, strict=True):
        a = np.deg2rad(degrees)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * scale
        landmarks.append((base - centre) @ rot.T + centre + shift + jitter)
    generated = {}
    for out_w in OUT_WS:
        i, j, c, b = np.ogrid[:int(1.3 * out_w), :out_w, :3, :len(CASES)]
        pattern = (7 * i + 13 * j + 85 * c + 31 * b) % 256
        generated[out_w] = np.ascontiguousarray(pattern.transpose(3, 2, 0, 1).astype(np.float32))
    return frames, np.asarray(landmarks, dtype=np.float32), generated


def authors_commit(repo: Path, given: str | None) -> dict:
    files = golden_authors_align.AUTHORS_FILES
    if given:
        return {"commit": given, "commit_from": "--lawdnet_commit argument"}
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    changed = subprocess.run(["git", "-C", str(repo), "diff", "--quiet", "HEAD", "--", *files])
    if changed.returncode:
        raise SystemExit(f"error: {repo}: {', '.join(files)} differ from {commit}; use a clean checkout")
    return {"commit": commit, "commit_from": f"git rev-parse HEAD ({', '.join(files)} unmodified)"}


def environment() -> dict:
    import skimage
    import torch
    import torchvision

    return {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
            "numpy": np.__version__, "skimage": skimage.__version__, "torch_threads": torch.get_num_threads()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lawdnet_repo", type=Path, required=True)
    parser.add_argument("--lawdnet_commit")
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "golden")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    frames, landmarks, generated = make_inputs()
    got, stubs = golden_authors_align.run(args.lawdnet_repo, frames, landmarks, OUT_WS, generated, MASK_SIZES)
    arrays = {"landmarks": landmarks}
    checks: dict[str, object] = {}
    for out_w in OUT_WS:
        s = GRID_STEP[out_w]
        m = got[f"matrices_{out_w}"]
        arrays[f"matrices_{out_w}"] = m
        arrays[f"aligned_landmarks_{out_w}"] = got[f"aligned_landmarks_{out_w}"]
        arrays[f"aligned_{out_w}_grid"] = got[f"aligned_{out_w}"][:, :, ::s, ::s]
        arrays[f"aligned_{out_w}_means"] = got[f"aligned_{out_w}"].astype(np.float64).mean(axis=(2, 3))
        arrays[f"masked_{out_w}_means"] = got[f"masked_{out_w}"].astype(np.float64).mean(axis=(2, 3))
        if out_w == 80:
            arrays[f"masked_{out_w}_grid"] = got[f"masked_{out_w}"][:, :, ::s, ::s]
        rec = got[f"recovered_{out_w}"]
        arrays[f"recovered_{out_w}_rowsums"] = rec.astype(np.float64).sum(axis=-1)
        checks[f"recovered_{out_w}_sha256"] = sha256(np.ascontiguousarray(rec, dtype="<f4").tobytes())
        checks[f"recovered_{out_w}_changed_pixels"] = [int(n) for n in (rec != frames).any(axis=1).sum(axis=(1, 2))]
        checks[f"rotation_degrees_{out_w}"] = [round(float(np.degrees(np.arctan2(-x[0, 1], x[0, 0]))), 3) for x in m]
        checks[f"scale_{out_w}"] = [round(float(np.hypot(x[0, 0], x[0, 1])), 5) for x in m]
        checks[f"aligned_std_{out_w}"] = round(float(got[f"aligned_{out_w}"].std()), 3)
    for h, w in MASK_SIZES:
        mask = got[f"mask_{h}x{w}"]
        arrays[f"mask_{h}x{w}"] = mask if h * w < 10000 else mask[::6, ::6]
        checks[f"mask_{h}x{w}_max_sum"] = [round(float(mask.max()), 6), round(float(mask.sum()), 3)]
    doc = {
        "authors": {"repo": "https://github.com/iPaw-AI-LAB/LawDNet_2024", **authors_commit(args.lawdnet_repo,
                    args.lawdnet_commit), "files": golden_authors_align.AUTHORS_FILES, "stubs": stubs,
                    "calls": "FaceAlign(ratio=1.6)(frames, landmarks, out_W); SmoothSqMask()(aligned / 255.0); "
                             "FaceAlign.recover(generated, frames.clone(), matrix); "
                             "1 - SmoothSqMask()(ones(1, 1, H, W))"},
        "command": "python scripts/make_golden_align.py --lawdnet_repo <LAWDNET_REPO>",
        "environment": environment(),
        "inputs": {**INPUTS, "seed": SEED, "cases": [{"scale": c[0], "rotation": c[1], "shift": list(c[2])}
                                                     for c in CASES],
                   "frames_sha256": sha256(frames.tobytes()), "landmarks_sha256": sha256(landmarks.tobytes()),
                   "out_W": OUT_WS, "mask_sizes": [list(s) for s in MASK_SIZES]},
        "stored": {"grids": {f"aligned_{w}_grid": f"[:, :, ::{GRID_STEP[w]}, ::{GRID_STEP[w]}]" for w in OUT_WS}
                   | {"masked_80_grid": "[:, :, ::4, ::4]", "mask_468x360": "[::6, ::6] (others full)"},
                   "means": "(B, 3) float64 means over each full image", "rowsums": "(B, 3, H) float64 row sums "
                   "of the recovered frames; recovered_*_sha256: sha256 of the full float32 frames"},
        "checks": checks,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_npz(args.out / "lawdnet_align.npz", arrays)
    (args.out / "lawdnet_align.json").write_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    for name in ("lawdnet_align.npz", "lawdnet_align.json"):
        data = (args.out / name).read_bytes()
        print(f"{sha256(data)}  {len(data):>8}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
