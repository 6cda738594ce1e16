"""SSIM on the CPU: scikit-image per image vs the kit's batched ``ssim_batch``, same images, same numbers.

    python benchmarks/bench_ssim.py                         # 32 pairs of 256x256 RGB, 5 rounds
    python benchmarks/bench_ssim.py --images 64 --size 512 --json ssim.json

* skimage: ``structural_similarity(a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255)`` per pair — the reference of the ``standard`` protocol, as a user's
  per-image loop calls it;
* ours: ``talkingface.metrics.fidelity.ssim_batch(a, b)`` on the whole batch (scipy's filters image by image,
  channels-first planes, images on a thread pool);
* the floor: the separable Gaussian filtering alone (scipy.ndimage.gaussian_filter of the five maps x, y, x², y²,
  xy of every channel plane, on as many threads as ours uses) — the work any exact implementation does.

Rounds interleave the three (the order rotates); printed: medians and ranges, ours/skimage and ours/floor, the
largest difference of the values (must be <= 1e-9), the load average before and after (a warning above the core
count) and the versions.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=32, help="pairs per round (default 32)")
    p.add_argument("--size", type=int, default=256, help="side of the square RGB images (default 256)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    import scipy
    import skimage
    from scipy import ndimage
    from skimage.metrics import structural_similarity

    from talkingface.metrics.fidelity import ssim_batch

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

    def floor():
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(floor_one, zip(a, b, strict=True)))

    sides = {"skimage per image": skimage_loop, "ours batched": lambda: ssim_batch(a, b), "floor filters": floor}
    names = list(sides)
    times: dict[str, list[float]] = {k: [] for k in names}
    values = {}
    load_before = os.getloadavg()
    for r in range(args.rounds):
        for name in names[r % 3:] + names[:r % 3]:
            t = time.perf_counter()
            out = sides[name]()
            times[name].append(time.perf_counter() - t)
            if out is not None:
                values[name] = out
    load_after = os.getloadavg()
    med = {k: statistics.median(v) for k, v in times.items()}
    diff = float(np.max(np.abs(values["ours batched"] - values["skimage per image"])))
    for name in names:
        ts = times[name]
        print(f"{name:18s} median {med[name]:7.3f} s  (range {min(ts):.3f}–{max(ts):.3f}; "
              f"{1000 * med[name] / args.images:.1f} ms per pair)")
    print(f"ours / skimage {med['ours batched'] / med['skimage per image']:.2f}, ours / floor "
          f"{med['ours batched'] / med['floor filters']:.2f}; largest difference of the values {diff:.1e}")
    cores = os.cpu_count() or 1
    print(f"load {load_before} -> {load_after} on {cores} cores; numpy {np.__version__}, scipy {scipy.__version__}, "
          f"scikit-image {skimage.__version__}")
    if max(load_before[0], load_after[0]) > cores:
        print("warning: the load average exceeded the core count: the ratios are not a result")
    if args.json:
        Path(args.json).write_text(json.dumps({"images": args.images, "size": args.size, "median_s": med,
                                               "times_s": times, "max_abs_diff": diff, "load_before": load_before,
                                               "load_after": load_after, "cpus": cores}, indent=2))
    return 0 if diff <= 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
