#!/usr/bin/env python3
"""Writes tests/data/golden/dagan_train.{npz,json}: the DaGAN authors' training losses and gradients on formula weights.

    python scripts/make_golden_train.py --dagan_repo DIR [--out tests/data/golden]

DIR: a checkout of harlanhong/CVPR2022-DaGAN (never committed here). For each case in ``CASES`` the authors'
GeneratorFullModel / DiscriminatorFullModel run one training step (scripts/golden_authors_train.py) on a tiny
network (``MODEL_PARAMS``), 64x64 frames, batch 2, torch's global RNG seeded right before the generator pass (the
random warp is its only draw). Weights: tests/golden_weights.dagan_state under the network names of ``NETS``
(closed-form, no RNG; VGG19 conv weights times float32(sqrt 2) so that features survive 13 ReLU layers); the test
rebuilds them and checks their digest. Stored: the inputs (uint8), every loss term, a few parameter gradients,
the warp's draws, and for the paper case the prediction and the warped frame.
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(Path(__file__).resolve().parent)]
sys.dont_write_bytecode = True                  # leave the authors' checkout clean

import golden_authors_train  # noqa: E402
import golden_dagan_train  # noqa: E402
import golden_weights  # noqa: E402
import numpy as np  # noqa: E402
from make_golden import authors_commit, environment, sha256, write_json, write_npz  # noqa: E402

from talkingface.errors import KitError, cli_main  # noqa: E402

MODEL_PARAMS = {
    "common_params": {"num_kp": 5, "num_channels": 3, "estimate_jacobian": True},
    "kp_detector_params": {"temperature": 0.1, "block_expansion": 8, "max_features": 32, "scale_factor": 0.25,
                           "num_blocks": 2},
    "generator_params": {"block_expansion": 8, "max_features": 32, "num_down_blocks": 2, "num_bottleneck_blocks": 1,
                         "estimate_occlusion_map": True,
                         "dense_motion_params": {"block_expansion": 8, "max_features": 32, "num_blocks": 2,
                                                 "scale_factor": 0.25}},
    "discriminator_params": {"scales": [1], "block_expansion": 8, "max_features": 32, "num_blocks": 2,
                             "use_kp": True},
}
DEPTH_LAYERS = 18
# 64x64 frames: VGG19's relu5_1 slice needs >= 16x16 input, so the pyramid stops at 1/4 (vox-adv-256: down to 1/8)
TRAIN_PARAMS = {"scales": [1, 0.5, 0.25], "transform_params": {"sigma_affine": 0.05, "sigma_tps": 0.005,
                                                               "points_tps": 5},
                "loss_weights": {"generator_gan": 1, "discriminator_gan": 1, "feature_matching": [10, 10, 10, 10],
                                 "perceptual": [10, 10, 10, 10, 10], "equivariance_value": 10,
                                 "equivariance_jacobian": 10, "kp_distance": 10, "kp_prior": 0, "kp_scale": 0,
                                 "depth_constraint": 0}}
#: case -> (mode, loss-weight overrides, seed of torch.manual_seed before the generator pass)
CASES = {
    "paper": ("rgbd", {}, 1001),
    "extras": ("rgbd", {"kp_scale": 1, "depth_constraint": 1, "kp_prior": 10}, 1002),
    "kp_prior_flag": ("rgbd", {"kp_distance": 0, "kp_prior": 10}, 1003),
    "rgb": ("rgb", {"kp_scale": 1}, 1004),
    "depth": ("depth", {"kp_scale": 1, "depth_constraint": 1}, 1005),
}
MODE_CHANNELS = golden_dagan_train.MODE_CHANNELS
VGG_GAIN = math.sqrt(2)
INPUTS = {"image": "skimage.data.astronaut()", "size": 64, "resize": "cv2.INTER_AREA",
          "crops": {"source": [[0, 40, 400], [60, 100, 360]], "driving": [[16, 30, 400], [40, 120, 360]]},
          "crop_format": "[row, col, side] per batch item"}
KEEP_FULL = "paper"          # the case whose prediction and warped frame are stored


def make_inputs() -> dict[str, np.ndarray]:
    """(2, 3, 64, 64) uint8 source and driving batches: square crops of the astronaut photo, area-resized."""
    import cv2
    from skimage.data import astronaut

    photo, size = astronaut(), INPUTS["size"]
    out = {}
    for name, crops in INPUTS["crops"].items():
        frames = [cv2.resize(photo[r:r + s, c:c + s], (size, size), interpolation=cv2.INTER_AREA) for r, c, s in crops]
        out[name] = np.ascontiguousarray(np.stack(frames).transpose(0, 3, 1, 2))
    return out


def formula_states() -> dict[str, dict]:
    """Formula weights of every network the cases use, keyed by NETS names (tests/golden_dagan_train.py)."""
    from dagan.config import load_dagan_config

    cfg = load_dagan_config({"model_params": copy.deepcopy(MODEL_PARAMS),
                             "depth_params": {"num_layers": DEPTH_LAYERS}})
    return golden_dagan_train.formula_states(cfg, VGG_GAIN)


def case_train_params(case: str) -> dict:
    params = copy.deepcopy(TRAIN_PARAMS)
    params["loss_weights"].update(CASES[case][1])
    return params


def _run(repo: Path, states: dict, case: str, source, driving, double: bool = False) -> dict:
    mode, _, seed = CASES[case]
    case_states = {**states, "kp_detector": states[f"kp_detector_{mode}"]}
    with tempfile.TemporaryDirectory(prefix="golden_train_") as work:
        return golden_authors_train.run_case(repo, Path(work), copy.deepcopy(MODEL_PARAMS), case_train_params(case),
                                             mode, case_states, DEPTH_LAYERS, source, driving, seed, double=double)


def make(repo: Path, commit: str | None, out: Path) -> None:
    inputs = make_inputs()
    source, driving = (inputs[n].astype(np.float32) / 255 for n in ("source", "driving"))
    states = formula_states()
    arrays: dict[str, np.ndarray] = {"source_uint8": inputs["source"], "driving_uint8": inputs["driving"]}
    losses: dict[str, dict[str, float]] = {}
    for case in CASES:
        res = _run(repo, states, case, source, driving)
        losses[case] = {k.removeprefix("loss_"): float(v) for k, v in res.items() if k.startswith("loss_")}
        for key, value in res.items():
            if key.startswith("loss_") or (key in ("prediction", "transformed_frame") and case != KEEP_FULL):
                continue
            arrays[f"{case}/{key}"] = np.asarray(value, dtype=np.float32)
        print(f"{case:14s} " + ", ".join(f"{k} {v:.6g}" for k, v in losses[case].items()))
    # the float32 gradients agree to ~1e-3 of their scale only (rounding, amplified by batch-2 BatchNorm and the
    # sharp heatmaps); in float64 both sides agree to ~1e-14, so the paper case is also kept in float64
    double = {n: {k: v.double() if v.is_floating_point() else v for k, v in st.items()} for n, st in states.items()}
    source64, driving64 = (inputs[n].astype(np.float64) / 255 for n in ("source", "driving"))
    res = _run(repo, double, KEEP_FULL, source64, driving64, double=True)
    losses_f64 = {k.removeprefix("loss_"): float(v) for k, v in res.items() if k.startswith("loss_")}
    arrays.update({f"{KEEP_FULL}_float64/{k}": np.asarray(v, dtype=np.float64) for k, v in res.items()
                   if k.startswith("grad_")})
    doc = {"authors": {"repository": "harlanhong/CVPR2022-DaGAN", **authors_commit(repo, commit),
                       "files": golden_authors_train.AUTHORS_FILES, "stubs": golden_authors_train.STUBS},
           "command": "python scripts/make_golden_train.py --dagan_repo <DAGAN_REPO>",
           "made_by": "scripts/make_golden_train.py (+ golden_authors_train.py)", "environment": environment(),
           "model_params": MODEL_PARAMS, "depth_layers": DEPTH_LAYERS, "train_params": TRAIN_PARAMS,
           "cases": {c: {"mode": m, "loss_weight_overrides": o, "seed": s} for c, (m, o, s) in CASES.items()},
           "losses": losses, "losses_float64": {KEEP_FULL: losses_f64}, "grad_keys": golden_authors_train.GRAD_KEYS,
           "inputs": INPUTS, "kept_full": KEEP_FULL,
           "weights": {"formula": {**golden_weights.RULES, "vgg19_features conv weights": "times float32(sqrt 2)",
                                   "kp_detector_<mode>": "formula under the network name 'kp_detector'"},
                       "state_sha256": golden_weights.state_digest(states)}}
    out.mkdir(parents=True, exist_ok=True)
    write_npz(out / "dagan_train.npz", arrays)
    write_json(out / "dagan_train.json", doc)
    for name in ("dagan_train.npz", "dagan_train.json"):
        path = out / name
        print(f"{sha256(path)}  {path.stat().st_size:>8}  {name}")


@cli_main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dagan_repo", type=Path, required=True, help="checkout of harlanhong/CVPR2022-DaGAN")
    p.add_argument("--dagan_commit", help="its commit, when the folder is not a git checkout")
    p.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "golden", help="output folder")
    args = p.parse_args(argv)
    if not args.dagan_repo.is_dir():
        raise KitError(f"--dagan_repo: give a checkout of the authors' repository (got {args.dagan_repo})")
    make(args.dagan_repo, args.dagan_commit, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
