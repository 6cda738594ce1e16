"""SSIM: scikit-image per image (CPU) vs the kit's batched ``ssim_batch`` (CPU or GPU), same images, same numbers.

    python benchmarks/bench_ssim.py                         # 32 pairs of 256x256 RGB, 5 rounds, CPU
    python benchmarks/bench_ssim.py --images 64 --size 512 --json ssim.json
    python benchmarks/bench_ssim.py --device cuda --images 256 --rounds 5         # ours on the GPU

* skimage: ``structural_similarity(a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255)`` per pair on the CPU — the reference of the ``standard`` protocol,
  as a user's per-image loop calls it;
* ours: ``talkingface.metrics.fidelity.ssim_batch(a, b, device=...)`` on the whole batch: on the CPU scipy's filters
  image by image (channels-first planes, images on a thread pool); on CUDA its torch backend (float64, uint8 batch
  uploaded and the N values brought back inside the timed call);
* the floor: the separable Gaussian filtering alone of the five maps x, y, x², y², xy of every channel plane — on the
  CPU scipy.ndimage.gaussian_filter on as many threads as ours uses; on CUDA the kit's own float64 filter on images
  already on the GPU as float64 (no transfer, no SSIM formula) — the work any exact implementation does.

Rounds interleave the three (the order rotates; CUDA synchronised around each); printed: medians and ranges,
ours/skimage and ours/floor, the largest difference of the values (must be <= 1e-9), the load average before and
after (a warning above the core count) and the versions; then the ``BENCH_RESULT`` record of benchmarks/benchlib.py
(sides reference = skimage, ours, floor; target: ours at least as fast as skimage per image), also written to
``--json PATH``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

LABELS = {"reference": "skimage per image", "ours": "ours batched", "floor": "floor filters"}


def gpu_floor(a: np.ndarray, b: np.ndarray, device: str):
    """The floor on CUDA: a function filtering the five maps of images already on the GPU, in ssim_batch's chunks."""
    import torch

    from talkingface.metrics.fidelity import _chunks, _filter2d, _gaussian_taps

    taps = [float(t) for t in _gaussian_taps(1.5, 3.5)]
    x = torch.from_numpy(a).to(device, torch.float64).permute(0, 3, 1, 2)
    y = torch.from_numpy(b).to(device, torch.float64).permute(0, 3, 1, 2)
    starts, step = _chunks(*a.shape[:3])

    def run() -> None:
        with torch.no_grad():
            for s in starts:
                xs, ys = x[s:s + step], y[s:s + step]
                _filter2d(torch.stack([xs, ys, xs * xs, ys * ys, xs * ys]), taps)
    return run


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=32, help="pairs per round (default 32)")
    p.add_argument("--size", type=int, default=256, help="side of the square RGB images (default 256)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    p.add_argument("--device", default="cpu",
                   help="where ours and the floor run: cpu (scipy) or cuda / cuda:N (torch, float64); skimage always "
                        "runs on the CPU (default cpu)")
    p.add_argument("--json", metavar="PATH", help="also write the BENCH_RESULT record (benchmarks/benchlib.py) here")
    args = p.parse_args(argv)
    import scipy
    import skimage
    from scipy import ndimage
    from skimage.metrics import structural_similarity

    from talkingface.metrics.fidelity import ssim_batch

    cuda = args.device.startswith("cuda")
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (args.images, args.size, args.size, 3), dtype=np.uint8)
    b = np.clip(a.astype(np.int16) + rng.integers(-25, 26, a.shape), 0, 255).astype(np.uint8)

    def skimage_loop():
        return np.array([structural_similarity(x, y, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                                               use_sample_covariance=False, data_range=255)
                         for x, y in zip(a, b, strict=True)])

    def floor_one(pair) -> None:
        x, y = pair
        for c in range(3):
            xc, yc = np.ascontiguousarray(x[..., c], np.float64), np.ascontiguousarray(y[..., c], np.float64)
            for m in (xc, yc, xc * xc, yc * yc, xc * yc):
                ndimage.gaussian_filter(m, sigma=1.5, truncate=3.5, mode="reflect")

    workers = min(args.images, os.cpu_count() or 1, 8)

    def cpu_floor():
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(floor_one, zip(a, b, strict=True)))

    floor = gpu_floor(a, b, args.device) if cuda else cpu_floor
    if cuda:                                    # CUDA context, allocator and kernels before the first timed call
        ssim_batch(a[:2], b[:2], device=args.device)
        floor()
    sides = {"reference": skimage_loop, "ours": lambda: ssim_batch(a, b, device=args.device), "floor": floor}
    load_before = benchlib.load_average()
    times, values = benchlib.interleaved(sides, args.rounds, args.device)
    load_after = benchlib.load_average()
    med = {k: statistics.median(v) for k, v in times.items()}
    diff = float(np.max(np.abs(values["ours"] - values["reference"])))
    for name, label in LABELS.items():
        ts = times[name]
        print(f"{label:18s} median {med[name]:7.3f} s  (range {min(ts):.3f}–{max(ts):.3f}; "
              f"{1000 * med[name] / args.images:.1f} ms per pair)")
    print(f"ours / skimage {med['ours'] / med['reference']:.2f}, ours / floor "
          f"{med['ours'] / med['floor']:.2f}; largest difference of the values {diff:.1e}")
    cores = os.cpu_count() or 1
    print(f"load {load_before} -> {load_after} on {cores} cores; numpy {np.__version__}, scipy {scipy.__version__}, "
          f"scikit-image {skimage.__version__}")
    ok = diff <= 1e-9
    where = f"ours and floor on {args.device} (torch float64)" if cuda else f"ours and floor on {workers} threads"
    settings = f"{args.images} pairs of {args.size}² RGB uint8, standard protocol; skimage on the CPU, {where}"
    benchlib.emit("ssim", title="SSIM (standard protocol)", settings=settings, device=args.device, unit="images",
                  work=args.images, times=times, load_before=load_before, check_ok=ok,
                  check_detail=f"max |ours - skimage| {diff:.1e} (<= 1e-9)", target="ours >= skimage per image",
                  target_ratio=("reference/ours", 1.0), json_path=args.json,
                  extra={"images": args.images, "size": args.size, "max_abs_diff": diff, "workers": workers,
                         "floor": "filters on GPU-resident float64 images" if cuda else "scipy filters, same threads",
                         "versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                                      "scikit-image": skimage.__version__}})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
