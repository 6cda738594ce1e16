"""Evaluation runner vs the naive per-image loop a user writes, on the same synthetic data and weights.

    .venv/bin/python benchmarks/bench_evaluate.py                      # 20 pairs x 25 frames, 256x256, CPU
    .venv/bin/python benchmarks/bench_evaluate.py --pairs 3 --frames 5 --metrics niqe,psnr,ssim,fid,lpips \\
        --naive_pairs 2 --rounds 3 --json /tmp/be.json
    python benchmarks/bench_evaluate.py --device cuda --pairs 400 --frames 25 --metrics niqe,psnr,ssim,fid,lpips \\
        --naive_pairs 8 --batch_size 64                               # 10,000 frame pairs; naive timed on 8 pairs

Sides, interleaved over --rounds rounds (benchmarks/benchlib.py): ours = ``talkingface.evaluation.evaluate()``
(a fresh output folder each round: nothing cached); naive = per frame scikit-image's PSNR/SSIM and the kit's
``niqe()`` on the CPU, pytorch-fid's InceptionV3 and lpips' ``LPIPS(net="alex")`` on one image (pair) at a time
on --device (networks built before the clock starts), FID by pytorch-fid's ``calculate_frechet_distance``; with
--naive_pairs K on the first K pairs only, its per-pair time scaled by pairs/K (FID's final distance, a fixed
cost, counted once) and the runner checked on a second set of just those K pairs; floor = the kit's batched metric
objects (``create_metric``, built beforehand) on frames decoded into memory beforehand, in batches of --batch_size
as the runner batches (the decoding alone: ``decode_s``). Random FID-Inception and AlexNet weights (LPIPS' linear
layers: the lpips package's alex.pth) serve every side; the numbers must agree (relative 1e-6; LPIPS 1e-5; FID
1e-3), with TF32 off unless --tf32. Ends with a ``BENCH_RESULT`` line (and --json).
"""
from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from evaluate_inputs import GEN, GT, decode_all, make_data, make_weights, subset  # noqa: E402

BLOCK_BY_DIMS = {64: 0, 192: 1, 768: 2, 2048: 3}
KNOWN = ("niqe", "psnr", "ssim", "fid", "lpips")
TOLERANCE = {"fid": 1e-3, "lpips": 1e-5}          # relative (of max(1, |value|) for FID); others 1e-6


def naive_models(metrics: list, fid_dims: int, device: str, weights: dict) -> dict:
    """The networks a user builds once: pytorch-fid's InceptionV3 and lpips.LPIPS (its torchvision download
    replaced by our AlexNet file), on ``device``."""
    import torch

    models = {}
    if "fid" in metrics:
        from pytorch_fid.inception import InceptionV3

        models["fid"] = InceptionV3([BLOCK_BY_DIMS[fid_dims]]).eval().to(device)
    if "lpips" in metrics:
        import lpips as lpips_pkg
        import torchvision

        alex = torchvision.models.alexnet(weights=None)
        alex.load_state_dict(torch.load(weights["alexnet"], weights_only=True))
        with mock.patch.object(lpips_pkg.pretrained_networks.tv, "alexnet", lambda *a, **k: alex):
            models["lpips"] = lpips_pkg.LPIPS(net="alex", version="0.1", model_path=str(weights["linear"]),
                                              verbose=False).eval().to(device)
    return models


def naive(base: Path, metrics: list, models: dict, device: str) -> tuple[dict, dict]:
    """What a user writes: one loop over pairs and frames, one library call per frame and metric."""
    import torch
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from talkingface.media import VideoReader
    from talkingface.metrics import niqe

    def fid_features(img):
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float().to(device) / 255
        pred = models["fid"](x)[0]
        if pred.shape[2:] != (1, 1):          # as pytorch-fid's get_activations does
            pred = torch.nn.functional.adaptive_avg_pool2d(pred, (1, 1))
        return pred.flatten(1).cpu().numpy()

    def lpips_value(g, r):
        from lpips import im2tensor

        return models["lpips"](im2tensor(g).to(device), im2tensor(r).to(device)).item()

    per_frame = {"psnr": lambda g, r: peak_signal_noise_ratio(r, g, data_range=255),
                 "ssim": lambda g, r: structural_similarity(g, r, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                                            use_sample_covariance=False, data_range=255),
                 "niqe": lambda g, r: niqe(g, device="cpu"),          # the kit's one-image call, on the CPU
                 "lpips": lpips_value}
    times, per_sample = defaultdict(float), defaultdict(list)
    feats = {"generated": [], "reference": []}
    with torch.no_grad():
        for gen_path in sorted((base / GEN).glob("*.mp4")):
            t = time.perf_counter()
            gen = list(VideoReader(gen_path))
            ref = list(VideoReader(base / GT / gen_path.name))
            times["decode"] += time.perf_counter() - t
            values = defaultdict(list)
            for g, r in zip(gen, ref, strict=False):  # the shorter, as the runner does
                for name in metrics:
                    t = time.perf_counter()
                    if name == "fid":
                        feats["generated"].append(fid_features(g))
                        feats["reference"].append(fid_features(r))
                    else:
                        values[name].append(per_frame[name](g, r))
                    times[name] += time.perf_counter() - t
            for name, v in values.items():
                per_sample[name].append(np.mean(v))
    out = {name: float(np.mean(v)) for name, v in per_sample.items()}
    if "fid" in metrics:
        from pytorch_fid.fid_score import calculate_frechet_distance

        t = time.perf_counter()
        stats = {}
        for key, rows in feats.items():
            act = np.concatenate(rows).astype(np.float64)
            stats[key] = (np.mean(act, axis=0), np.cov(act, rowvar=False))
        with warnings.catch_warnings():               # scipy's "singular matrix" when N < dims: not news
            warnings.simplefilter("ignore")
            out["fid"] = float(calculate_frechet_distance(*stats["generated"], *stats["reference"]))
        times["fid distance"] = time.perf_counter() - t
    return out, dict(times)


def runner(base: Path, out: Path, metrics: list, batch_size: int, fid_dims: int, device: str) -> tuple[dict, dict]:
    from talkingface.evaluation import evaluate

    res = evaluate(base, [GEN], out, metrics=metrics, batch_size=batch_size, device=device,
                   fid_dims=fid_dims, progress=False, log=lambda line: None)
    run = res["runs"][0]
    return {name: m["value"] for name, m in run["metrics"].items()}, run["seconds"]


def floor(frames: tuple, objs: dict, batch_size: int) -> dict:
    """The metric computations alone: batches of ``batch_size`` frames through the kit's metric objects."""
    from talkingface.metrics.fid import RunningStats, frechet_distance, frechet_method

    gen, ref, lengths = frames
    per_frame = {name: [] for name in objs if name != "fid"}
    stats = {"g": RunningStats(objs["fid"].dims), "r": RunningStats(objs["fid"].dims)} if "fid" in objs else {}
    for s in range(0, len(gen), batch_size):
        g, r = gen[s:s + batch_size], ref[s:s + batch_size]
        for name, metric in objs.items():
            if name == "fid":
                stats["g"].update(metric.features(g))
                stats["r"].update(metric.features(r))
            else:
                per_frame[name].append(metric(g, r) if metric.spec.full_reference else metric(g))
    starts = np.cumsum([0] + lengths[:-1])              # per-sample means, then their mean, as the runner reports
    out = {name: float(np.mean(np.add.reduceat(np.concatenate(parts), starts) / lengths))
           for name, parts in per_frame.items()}
    if stats:
        (mg, sg), (mr, sr) = stats["g"].stats(), stats["r"].stats()
        method = frechet_method("auto", stats["g"].n, stats["r"].n, objs["fid"].dims)
        out["fid"] = frechet_distance(mg, sg, mr, sr, method=method)
    return out


def logged(name: str, fn, note: str = ""):
    """``fn`` printing its wall time when done (a run cut short still shows the rounds it finished)."""
    def run():
        start = time.perf_counter()
        out = fn()
        print(f"  {name:5s} {time.perf_counter() - start:8.2f} s{note}", flush=True)
        return out
    return run


def compare(ours: dict, ref: dict, metrics: list) -> tuple[bool, str]:
    ok, parts = True, []
    for name in metrics:
        a, b = ours.get(name), ref.get(name)
        if a is None or b is None:
            ok, parts = False, parts + [f"{name} missing (ours {a}, naive {b})"]
            continue
        rel = abs(a - b) / max(1.0 if name == "fid" else 0.0, abs(b), 1e-300)
        ok &= rel <= TOLERANCE.get(name, 1e-6)
        parts.append(f"{name} {a:.6g} vs {b:.6g} (rel {rel:.1e} <= {TOLERANCE.get(name, 1e-6):.0e})")
    return ok, "; ".join(parts)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", type=int, default=20, help="generated/ground-truth video pairs (default 20)")
    p.add_argument("--frames", type=int, default=25, help="frames per video (default 25)")
    p.add_argument("--size", type=int, default=256, help="frame size, square, >= 192 for NIQE (default 256)")
    p.add_argument("--metrics", default="niqe,psnr,ssim,fid", help="comma list of " + ", ".join(KNOWN))
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto: the runner's device, the floor's and that "
                   "of the naive loop's networks (its PSNR/SSIM/NIQE stay on the CPU) (default cpu)")
    p.add_argument("--batch_size", type=int, default=16, help="frames per batch, runner and floor (default 16)")
    p.add_argument("--fid_dims", type=int, default=2048, choices=sorted(BLOCK_BY_DIMS), help="FID feature size")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the three sides (default 3)")
    p.add_argument("--naive_pairs", type=int, default=0, help="time the naive loop on the first K pairs only and "
                   "scale its per-pair time by pairs/K; the runner is checked on those K pairs (default 0: all)")
    p.add_argument("--tf32", action="store_true", help="keep torch's TF32 defaults on a GPU (default: TF32 off on "
                   "every side, so that the float32 numbers can agree)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--json", help="also write the result record (benchmarks/benchlib.py) to this file")
    args = p.parse_args(argv)
    args.metrics = [m.strip().lower() for m in args.metrics.split(",") if m.strip()]
    if not args.metrics or set(args.metrics) - set(KNOWN):
        p.error(f"--metrics: give some of {', '.join(KNOWN)}, got {','.join(args.metrics)}")
    args.k = args.naive_pairs if 0 < args.naive_pairs < args.pairs else args.pairs
    return args


def main(argv=None) -> int:
    import torch

    from talkingface.device import resolve_device
    from talkingface.metrics import create_metric

    args = parse_args(argv)
    metrics, k, scale = args.metrics, args.k, args.pairs / args.k
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.tf32:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    device = resolve_device(args.device)
    naive_note = f"naive timed on {k} pairs, scaled x{scale:.3g}" if k < args.pairs else "naive on all pairs"
    with tempfile.TemporaryDirectory(prefix="bench_evaluate_") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        base = make_data(root, args.pairs, args.frames, args.size)
        weights = make_weights(root, metrics)
        data_s = time.perf_counter() - t
        base_k = base if k == args.pairs else subset(base, k)
        print(f"data: {args.pairs} pairs x {args.frames} frames {args.size}x{args.size} (H.264) and weights made in "
              f"{data_s:.1f} s; device {benchlib.describe_device(device)}, TF32 {'default' if args.tf32 else 'off'}; "
              f"{naive_note}", flush=True)
        models = naive_models(metrics, args.fid_dims, device, weights)
        t = time.perf_counter()
        frames = decode_all(base)
        decode_s = time.perf_counter() - t
        objs = {n: create_metric(n, device=device, **({"dims": args.fid_dims, "batch_size": args.batch_size}
                                                      if n == "fid" else {})) for n in metrics}
        # warm-up (imports, CUDA context and kernels), and the runner on the naive loop's pairs for the check
        floor((frames[0][:2], frames[1][:2], [2]), objs, args.batch_size)
        parity, _ = runner(base_k, root / "out_check", metrics, args.batch_size, args.fid_dims, device)
        naive(subset(base_k, 1) if k > 1 else base_k, [m for m in metrics if m != "fid"], models, device)
        if "fid" in models:
            with torch.no_grad():
                models["fid"](torch.zeros(1, 3, args.size, args.size, device=device))
        calls, runner_secs, naive_parts = itertools.count(), [], []

        def ours_side():
            runner_secs.append(runner(base, root / f"out_{next(calls)}", metrics, args.batch_size, args.fid_dims,
                                      device))
            print("        runner's own split: " + ", ".join(f"{k} {v:.2f}" for k, v in runner_secs[-1][1].items()),
                  flush=True)                    # at once: a run cut short still says where the time went
            return runner_secs[-1][0]

        def naive_side():
            naive_parts.append(naive(base_k, metrics, models, device))
            return naive_parts[-1][0]

        sides = {"ours": ours_side, "naive": naive_side, "floor": lambda: floor(frames, objs, args.batch_size)}
        note = {"naive": f" (on {k} pairs, not scaled)" if k < args.pairs else ""}
        load_before = benchlib.load_average()
        times, results = benchlib.interleaved({name: logged(name, fn, note.get(name, "")) for name, fn in
                                               sides.items()}, args.rounds, device=device)
    fixed = [parts.get("fid distance", 0.0) for _, parts in naive_parts]    # FID's final distance: counted once
    times["naive"] = [(s - f) * scale + f for s, f in zip(times["naive"], fixed, strict=True)]
    ours, ref, low = results["ours"], results["naive"], results["floor"]
    ok, detail = compare(parity, ref, metrics)
    detail = f"runner on {k} pairs vs naive: {detail}"
    _, floor_detail = compare(low, ours, metrics)
    seconds = {key: round(statistics.median(s.get(key, 0.0) for _, s in runner_secs), 3) for key in runner_secs[-1][1]}
    parts = {key: round(v, 3) for key, v in naive_parts[-1][1].items()}
    print(f"check     : {'OK' if ok else 'FAIL'} ({detail})\nfloor     : vs ours on all pairs {floor_detail}")
    print("runner s  : " + ", ".join(f"{key} {v:.2f}" for key, v in seconds.items())
          + f" (the runner's own clocks, median of {args.rounds} rounds); decode alone {decode_s:.2f} s")
    print(f"naive s   : {naive_note}; on {k} pairs, last round: " + ", ".join(f"{a} {v:.2f}" for a, v in parts.items()))
    settings = (f"{args.pairs} pairs x {args.frames} frames {args.size}x{args.size}, metrics {','.join(metrics)}, "
                f"batch {args.batch_size}, fid_dims {args.fid_dims}, TF32 {'default' if args.tf32 else 'off'}, "
                f"{args.rounds} rounds; {naive_note}"
                + (" (per-pair time x pairs/K, FID's final distance once)" if k < args.pairs else ""))
    extra = {"decode_s": round(decode_s, 3), "data_s": round(data_s, 1), "runner_seconds": seconds,
             "naive_pairs": k, "naive_scale": scale, "naive_note": naive_note, "naive_parts_last": parts,
             "values": {"ours": ours, "naive": ref, "floor": low, "ours_on_naive_pairs": parity},
             "floor_vs_ours": floor_detail}
    benchlib.emit("evaluate", title="Evaluation runner vs the naive per-image loop", settings=settings,
                  device=device, unit="frame pairs", work=args.pairs * args.frames, times=times,
                  load_before=load_before, check_ok=ok, check_detail=detail, target="ours >= 10x naive",
                  target_ratio=("naive/ours", 10.0), json_path=args.json, extra=extra)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
