"""Evaluation runner vs the naive per-image loop a user writes, on the same synthetic data and weights.

    .venv/bin/python benchmarks/bench_evaluate.py                      # 20 pairs x 25 frames, 256x256
    .venv/bin/python benchmarks/bench_evaluate.py --pairs 6 --frames 10 --metrics niqe,psnr,ssim

The naive way: decode each video pair once, then per frame call scikit-image's peak_signal_noise_ratio and
structural_similarity, the kit's niqe() on the single image, and pytorch-fid's InceptionV3 on the single image
(batch of one); FID from those features with pytorch_fid.fid_score.calculate_frechet_distance. The runner:
talkingface.evaluate.evaluate() with the same metrics (fresh output folder: nothing cached). Both use the same
randomly initialised FID-Inception weights written to a temp dir (pytorch-fid reads them from $TORCH_HOME). The
script asserts that both give the same numbers, then prints the times and the speed ratio.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FID_FILE = "pt_inception-2015-12-05-6726825d.pth"
BLOCK_BY_DIMS = {64: 0, 192: 1, 768: 2, 2048: 3}


def make_data(root: Path, pairs: int, frames: int, size: int) -> Path:
    import cv2
    from skimage import data

    from talkingface.media import VideoWriter

    photos = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.immunohistochemistry()]
    base = root / "evaluation_set"
    (base / "gt_self").mkdir(parents=True)
    (base / "generate_bench_self").mkdir()
    rng = np.random.default_rng(0)
    for p in range(pairs):
        img = cv2.resize(photos[p % len(photos)], (size + 64, size + 64), interpolation=cv2.INTER_AREA)
        gt = np.stack([img[(k * 2) % 64:(k * 2) % 64 + size, (k * 3 + p) % 64:(k * 3 + p) % 64 + size]
                       for k in range(frames)])
        gen = np.clip(gt.astype(np.int16) + rng.integers(-10, 11, gt.shape), 0, 255).astype(np.uint8)
        for folder, clip in (("gt_self", gt), ("generate_bench_self", gen)):
            with VideoWriter(base / folder / f"p{p:02d}.mp4", 25) as w:
                w.write(clip)
    return base


def make_weights(root: Path) -> None:
    import torch

    from talkingface.metrics.fid_inception import FidInception

    torch.manual_seed(0)
    net = FidInception()
    for module in net.modules():          # He init keeps the random network's features from vanishing
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    state = net.inception.state_dict()
    for folder in (root / "checkpoints" / "fid", root / "torch_home" / "hub" / "checkpoints"):
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(state, folder / FID_FILE)
    os.environ["TALKINGFACE_CHECKPOINTS"] = str(root / "checkpoints")
    os.environ["TORCH_HOME"] = str(root / "torch_home")


def naive(base: Path, metrics: list, fid_dims: int) -> tuple[dict, dict]:
    """What a user writes: one loop over pairs and frames, one library call per frame and metric."""
    import torch
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from talkingface.media import VideoReader
    from talkingface.metrics import niqe

    times = defaultdict(float)
    per_sample = defaultdict(list)
    feats = {"generated": [], "reference": []}
    model = None
    if "fid" in metrics:
        from pytorch_fid.inception import InceptionV3

        model = InceptionV3([BLOCK_BY_DIMS[fid_dims]]).eval()
    for gen_path in sorted((base / "generate_bench_self").glob("*.mp4")):
        t = time.perf_counter()
        gen = list(VideoReader(gen_path))
        ref = list(VideoReader(base / "gt_self" / gen_path.name))
        times["decode"] += time.perf_counter() - t
        values = defaultdict(list)
        for g, r in zip(gen, ref, strict=False):  # the shorter, as the runner does
            if "psnr" in metrics:
                t = time.perf_counter()
                values["psnr"].append(peak_signal_noise_ratio(r, g, data_range=255))
                times["psnr"] += time.perf_counter() - t
            if "ssim" in metrics:
                t = time.perf_counter()
                values["ssim"].append(structural_similarity(g, r, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                                            use_sample_covariance=False, data_range=255))
                times["ssim"] += time.perf_counter() - t
            if "niqe" in metrics:
                t = time.perf_counter()
                values["niqe"].append(niqe(g))
                times["niqe"] += time.perf_counter() - t
            if model is not None:
                t = time.perf_counter()
                with torch.no_grad():
                    for key, img in (("generated", g), ("reference", r)):
                        x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
                        pred = model(x)[0]
                        if pred.shape[2:] != (1, 1):          # as pytorch-fid's get_activations does
                            pred = torch.nn.functional.adaptive_avg_pool2d(pred, (1, 1))
                        feats[key].append(pred.flatten(1).numpy())
                times["fid"] += time.perf_counter() - t
        for name, v in values.items():
            per_sample[name].append(np.mean(v))
    out = {name: float(np.mean(v)) for name, v in per_sample.items()}
    if model is not None:
        from pytorch_fid.fid_score import calculate_frechet_distance

        t = time.perf_counter()
        stats = {}
        for key, rows in feats.items():
            act = np.concatenate(rows).astype(np.float64)
            stats[key] = (np.mean(act, axis=0), np.cov(act, rowvar=False))
        out["fid"] = float(calculate_frechet_distance(*stats["generated"], *stats["reference"]))
        times["fid"] += time.perf_counter() - t
    return out, dict(times)


def runner(base: Path, out: Path, metrics: list, batch_size: int, fid_dims: int) -> tuple[dict, dict]:
    from talkingface.evaluation import evaluate

    res = evaluate(base, ["generate_bench_self"], out, metrics=metrics, batch_size=batch_size, device="cpu",
                   fid_dims=fid_dims, progress=False, log=lambda line: None)
    run = res["runs"][0]
    return {name: m["value"] for name, m in run["metrics"].items()}, run["seconds"]


def warm_up() -> None:
    """Imports and one-off initialisation, so that neither side pays them inside its timing."""
    import pytorch_fid.fid_score  # noqa: F401
    import skimage.metrics  # noqa: F401
    import talkingface.evaluate  # noqa: F401

    from talkingface.metrics import niqe

    niqe(np.random.default_rng(0).integers(0, 256, (192, 192, 3), dtype=np.uint8))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=20, help="generated/ground-truth video pairs")
    p.add_argument("--frames", type=int, default=25, help="frames per video")
    p.add_argument("--size", type=int, default=256, help="frame size (square, >= 192 for NIQE)")
    p.add_argument("--metrics", default="niqe,psnr,ssim,fid", help="comma list (of niqe, psnr, ssim, fid)")
    p.add_argument("--batch_size", type=int, default=16, help="runner batch size")
    p.add_argument("--fid_dims", type=int, default=2048, choices=sorted(BLOCK_BY_DIMS), help="FID feature size")
    p.add_argument("--per_metric", action="store_true", help="also time each metric alone (runner vs naive)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    with tempfile.TemporaryDirectory(prefix="bench_evaluate_") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        base = make_data(root, args.pairs, args.frames, args.size)
        make_weights(root)
        print(f"data: {args.pairs} pairs x {args.frames} frames {args.size}x{args.size} (H.264), made in "
              f"{time.perf_counter() - t:.1f} s; torch threads {torch.get_num_threads()}, cpu count {os.cpu_count()}")
        warm_up()

        t = time.perf_counter()
        ours, seconds = runner(base, root / "out_all", metrics, args.batch_size, args.fid_dims)
        t_run = time.perf_counter() - t
        t = time.perf_counter()
        ref, parts = naive(base, metrics, args.fid_dims)
        t_naive = time.perf_counter() - t

        for name in metrics:
            tol = 1e-3 if name == "fid" else 1e-6
            assert ours[name] is not None, f"runner gave no {name}"
            assert abs(ours[name] - ref[name]) <= tol * max(1.0, abs(ref[name])), (name, ours[name], ref[name])
        print("same numbers:", ", ".join(f"{n} {ours[n]:.6g} (naive {ref[n]:.6g})" for n in metrics))
        print(f"naive loop : {t_naive:8.1f} s  (" + ", ".join(f"{k} {v:.1f}" for k, v in parts.items()) + ")")
        print(f"runner     : {t_run:8.1f} s  (batch {args.batch_size}; "
              + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()) + ")")
        print(f"speed ratio: {t_naive / t_run:.2f}x  (naive / runner, all metrics {','.join(metrics)})")
        if args.per_metric:
            for name in metrics:
                t = time.perf_counter()
                runner(base, root / f"out_{name}", [name], args.batch_size, args.fid_dims)
                t_one = time.perf_counter() - t
                t = time.perf_counter()
                _, parts_one = naive(base, [name], args.fid_dims)
                t_naive_one = time.perf_counter() - t
                print(f"  {name:5s}: naive {t_naive_one:7.1f} s, runner {t_one:7.1f} s, "
                      f"ratio {t_naive_one / t_one:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
