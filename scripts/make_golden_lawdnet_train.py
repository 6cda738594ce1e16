#!/usr/bin/env python3
"""Writes tests/data/golden/lawdnet_train.{npz,json}: the LawDNet authors' frame- and clip-stage losses on CPU.

    python scripts/make_golden_lawdnet_train.py --lawdnet_repo DIR [--out tests/data/golden]

DIR: a checkout of iPaw-AI-LAB/LawDNet_2024 (never committed here; the files in golden_authors_lawdnet_train.FILES
must be unmodified, or give --lawdnet_commit). Their own train() of both distributed training scripts runs one step
(scripts/golden_authors_lawdnet_train.py) on mouth 64 crops (104x80), batch 2 (clip stage: 2 clips of 5 frames),
with a fixed image batch standing in for the generator output. Weights: tests/golden_weights formulas (no RNG; the
test rebuilds them and checks their digest): VGG19 features as the DaGAN golden, tiny discriminators
``Discriminator(C, *DISC_SIZES)``, SyncNet(15, 29, 128) with the generic rule (VGG and SyncNet conv weights times
float32(sqrt 2)). Stored: the inputs, every logged loss term, the gradient of loss_g w.r.t. the generator output
(clip: every 2nd row and column) and of two parameters of each discriminator after its own loss, and the audio
batch their generator received.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(Path(__file__).resolve().parent)]
sys.dont_write_bytecode = True                  # leave the authors' checkout clean

import golden_authors_lawdnet_train as authors  # noqa: E402
import golden_weights  # noqa: E402
import numpy as np  # noqa: E402
from make_golden import environment, sha256, write_json, write_npz  # noqa: E402
from make_golden_lawdnet import commit_of  # noqa: E402

from talkingface.errors import KitError, cli_main  # noqa: E402

MOUTH = 64
BATCH = 2
FRAMES = 5
DISC_SIZES = (8, 3, 32)          # block_expansion, num_blocks, max_features (the authors' configs: 64, 4, 256)
GAIN = math.sqrt(2)           # on VGG19 and SyncNet conv weights: features survive the depth
#: the authors' config/config.py loss weights, except lamb_perception 2 and lambda_g_dV 3 (distinct, so that a
#: weight read under the wrong name shows)
WEIGHTS = {"lamb_perception": 2.0, "lamb_syncnet_perception": 0.1, "lambda_img": 1.0, "lambda_g_dI": 1.0,
           "lambda_g_dV": 3.0}
CLIP_GRAD_STEP = 2
INPUTS = {"real": "uint8 floor(255 * (0.7 * tri + 0.15 * (u + 1))), tri = |((i * (1 + c mod 3) + j * (2 + c mod 2) "
                  "+ 7c + 5n) mod 48) - 24| / 24 * (0.3 + 0.7 i / (H - 1)) over (n, c, i, j) (a vertical ramp: "
                  "a shifted mouth crop must change the sync loss), u = golden_weights.uniform('lawdnet_train/"
                  "<stage>/real'); images = uint8 / 255",
          "fake": "uint8 clip(0.8 * real shifted by one row and one column (np.roll) + 40 * (u + 1)), u = "
                  "uniform('lawdnet_train/<stage>/fake'): the generator output (clip: frame-major (5B, 3, H, W))",
          "audio": "3 * uniform('lawdnet_train/<stage>/audio') (frame (B, 29, 5); clip (B, 5, 29, 5))",
          "deep_speech_full": "3 * uniform('lawdnet_train/clip/deep_speech_full'), (B, 29, 9)"}


def crop_shape() -> tuple[int, int]:
    from lawdnet.config import crop_size

    return crop_size(MOUTH)


def make_inputs(stage: str) -> dict[str, np.ndarray]:
    h, w = crop_shape()
    n = BATCH if stage == "frame" else BATCH * FRAMES
    idx = np.indices((n, 3, h, w))
    t = (idx[2] * (1 + idx[1] % 3) + idx[3] * (2 + idx[1] % 2) + 7 * idx[1] + 5 * idx[0]) % 48
    tri = np.abs(t - 24).astype(np.float32) / np.float32(24)
    tri *= (np.float32(0.3) + np.float32(0.7 / (h - 1)) * np.arange(h, dtype=np.float32)).reshape(h, 1)
    u = golden_weights.uniform(f"lawdnet_train/{stage}/real", tri.size).reshape(tri.shape)
    real = np.floor(np.float32(255) * (np.float32(0.7) * tri + np.float32(0.15) * (u + 1))).astype(np.uint8)
    u = golden_weights.uniform(f"lawdnet_train/{stage}/fake", tri.size).reshape(tri.shape)
    shifted = np.roll(real, (1, 1), axis=(2, 3)).astype(np.float32)
    fake = np.clip(np.float32(0.8) * shifted + np.float32(40) * (u + 1), 0, 255).astype(np.uint8)
    audio_shape = (BATCH, 29, 5) if stage == "frame" else (BATCH, FRAMES, 29, 5)
    out = {"real_uint8": real, "fake_uint8": fake,
           "audio": (3 * golden_weights.uniform(f"lawdnet_train/{stage}/audio", int(np.prod(audio_shape))))
           .reshape(audio_shape).astype(np.float32)}
    if stage == "clip":          # the loader's layout: (B, 5, 3, H, W) with frame f of clip b = row f * B + b
        out["real_uint8"] = np.ascontiguousarray(real.reshape(FRAMES, BATCH, 3, h, w).transpose(1, 0, 2, 3, 4))
        out["deep_speech_full"] = (3 * golden_weights.uniform("lawdnet_train/clip/deep_speech_full",
                                                              BATCH * 29 * 9)).reshape(BATCH, 29, 9)
    return out


def formula_states() -> dict[str, dict]:
    """Formula weights keyed by network name (the kit's modules give the keys and shapes)."""
    import torch
    import torchvision

    from lawdnet.modules.discriminator import Discriminator
    from lawdnet.modules.syncnet import SyncNet

    with torch.device("meta"):
        vgg = torchvision.models.vgg19(weights=None).features
        nets = {"net_dI": Discriminator(3, *DISC_SIZES), "net_dV": Discriminator(15, *DISC_SIZES)}
        syncnet = SyncNet(15, 29, 128)
    states = {"vgg19_features": dict(golden_weights.dagan_state("vgg19_features", vgg.state_dict())),
              "syncnet": dict(golden_weights.dagan_state("lawdnet_syncnet", syncnet.state_dict()))}
    for net in ("vgg19_features", "syncnet"):
        for t in states[net].values():
            if t.ndim > 1:
                t.mul_(torch.tensor(GAIN, dtype=torch.float32))
    states.update({n: dict(golden_weights.lawdnet_state(n, net.state_dict())) for n, net in nets.items()})
    return states


def _batch(stage: str, arrays: dict[str, np.ndarray]) -> dict:
    import torch

    out = {"real": torch.from_numpy(arrays["real_uint8"].astype(np.float32) / np.float32(255)),
           "fake": torch.from_numpy(arrays["fake_uint8"].astype(np.float32) / np.float32(255)),
           "audio": torch.from_numpy(arrays["audio"])}
    if stage == "clip":
        out["deep_speech_full"] = torch.from_numpy(np.ascontiguousarray(arrays["deep_speech_full"]))
    return out


def make(repo: Path, commit: str | None, out: Path) -> None:
    from lawdnet.checkpoint import save_syncnet
    from lawdnet.modules.syncnet import SyncNet

    prov = commit_of(repo, authors.FILES, commit)
    states = formula_states()
    arrays: dict[str, np.ndarray] = {}
    losses: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="lawdnet_train_golden_") as tmp:
        syncnet = SyncNet(15, 29, 128)
        syncnet.load_state_dict(states["syncnet"], strict=True)
        syncnet_file = save_syncnet(Path(tmp) / "syncnet_256mouth.pth", syncnet)
        for stage in ("frame", "clip"):
            inputs = make_inputs(stage)
            work = Path(tmp) / stage
            work.mkdir()
            res = authors.run_stage(stage, repo, work, states, DISC_SIZES, _batch(stage, inputs), WEIGHTS, MOUTH,
                                    syncnet_file if stage == "clip" else None)
            losses[stage] = res["losses"]
            arrays.update({f"{stage}/{k}": v for k, v in inputs.items()})
            grad = res["grad_fake"]
            if stage == "clip":
                grad = grad[:, :, ::CLIP_GRAD_STEP, ::CLIP_GRAD_STEP]
            arrays[f"{stage}/grad_fake"] = np.ascontiguousarray(grad, dtype=np.float32)
            arrays[f"{stage}/seen_audio"] = res["seen_audio"].astype(np.float32)
            for k, v in res.items():
                if k.startswith("grad_net_"):
                    arrays[f"{stage}/{k}"] = v.astype(np.float32)
            print(f"{stage:6s} " + ", ".join(f"{k} {v:.6g}" for k, v in losses[stage].items()))
    doc = {"authors": {"repository": "iPaw-AI-LAB/LawDNet_2024", **prov, "files": authors.FILES,
                       "stubs": authors.STUBS},
           "command": "TQDM_DISABLE=1 python scripts/make_golden_lawdnet_train.py --lawdnet_repo <LAWDNET_REPO>",
           "made_by": "scripts/make_golden_lawdnet_train.py (+ golden_authors_lawdnet_train.py)",
           "environment": environment(), "mouth": MOUTH, "batch": BATCH, "frames_per_clip": FRAMES,
           "disc_sizes": list(DISC_SIZES), "weights_options": WEIGHTS, "losses": losses,
           "grad_keys": authors.GRAD_KEYS, "clip_grad_step": CLIP_GRAD_STEP, "inputs": INPUTS,
           "weights": {"formula": {**golden_weights.LAWDNET_RULES,
                                   "vgg19_features": "golden_weights.dagan_state('vgg19_features'), conv weights "
                                                     "times float32(sqrt 2) (as dagan_train)",
                                   "syncnet": "golden_weights.dagan_state('lawdnet_syncnet') (the generic rule: "
                                              "no DaGAN special key occurs in SyncNet), conv weights times "
                                              "float32(sqrt 2)",
                                   "net_dI / net_dV": f"golden_weights.lawdnet_state, Discriminator(C, "
                                                      f"{', '.join(map(str, DISC_SIZES))})"},
                       "state_sha256": golden_weights.state_digest(states)},
           "arrays": {k: list(v.shape) for k, v in sorted(arrays.items())}}
    out.mkdir(parents=True, exist_ok=True)
    write_npz(out / "lawdnet_train.npz", arrays)
    write_json(out / "lawdnet_train.json", doc)
    for name in ("lawdnet_train.npz", "lawdnet_train.json"):
        path = out / name
        print(f"{sha256(path)}  {path.stat().st_size:>8}  {name}")


@cli_main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lawdnet_repo", type=Path, required=True, help="checkout of iPaw-AI-LAB/LawDNet_2024")
    p.add_argument("--lawdnet_commit", help="its commit, when the folder is not a git checkout")
    p.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "golden", help="output folder")
    args = p.parse_args(argv)
    if not args.lawdnet_repo.is_dir():
        raise KitError(f"--lawdnet_repo: give a checkout of the authors' repository (got {args.lawdnet_repo})")
    make(args.lawdnet_repo, args.lawdnet_commit, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
