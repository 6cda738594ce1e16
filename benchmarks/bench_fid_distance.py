"""FID's Fréchet distance at 2048 dims: pytorch-fid's sqrtm vs the kit's eigenvalue route, same statistics.

    python benchmarks/bench_fid_distance.py                       # N = 3000 per set, 2048 dims, 5 rounds
    python benchmarks/bench_fid_distance.py --n 5000 --rounds 7 --json fid_distance.json

Both sides get the same (mean, covariance) pairs of two sets of feature rows shaped like InceptionV3 pool3
activations (non-negative, correlated, a decaying spectrum; N > 2048 so the covariances have full rank, the case
where ``--fid_method auto`` takes the eigenvalue route):

* pytorch-fid: ``pytorch_fid.fid_score.calculate_frechet_distance`` (scipy ``sqrtm`` of Σ1 Σ2, real part) — the
  reference, what ``--fid_method sqrtm`` calls;
* ours: ``talkingface.metrics.fid.frechet_distance(..., method="eig")`` — two symmetric eigendecompositions;
* the floor: one ``numpy.linalg.eigh`` of a 2048² covariance (the least work any exact route needs).

Rounds interleave the sides (the order rotates); printed: the median and range of each, ours/pytorch-fid, the
relative difference of the two values (must be <= 1e-6), the load average before and after (a warning when it
exceeds the core count), numpy's BLAS and the versions.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "metrics"))          # the tests' pool3-like feature rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=3000, help="feature rows per set (default 3000; > dims)")
    p.add_argument("--dims", type=int, default=2048, help="feature size (default 2048, FID's)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    from _metric_images import pool3_like_features
    from pytorch_fid.fid_score import calculate_frechet_distance

    from talkingface.metrics.fid import frechet_distance

    x, y = pool3_like_features(args.n, args.dims, 1), pool3_like_features(args.n + 11, args.dims, 2, shift=0.2)
    stats = (x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    sides = {"pytorch-fid sqrtm": lambda: calculate_frechet_distance(*stats),
             "ours eig": lambda: frechet_distance(*stats, method="eig"),
             "floor eigh": lambda: np.linalg.eigh(stats[1])}
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {k: [] for k in sides}
    values: dict[str, float] = {}
    names = list(sides)
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t = time.perf_counter()
            out = sides[name]()
            times[name].append(time.perf_counter() - t)
            if not name.startswith("floor"):
                values[name] = float(out)
    load_after = os.getloadavg()
    med = {k: statistics.median(v) for k, v in times.items()}
    ref, ours = values["pytorch-fid sqrtm"], values["ours eig"]
    rel = abs(ours - ref) / abs(ref)
    for name, ts in times.items():
        print(f"{name:18s} median {med[name]:7.3f} s  (range {min(ts):.3f}–{max(ts):.3f}, {len(ts)} rounds)")
    print(f"ours / pytorch-fid: {med['ours eig'] / med['pytorch-fid sqrtm']:.3f} "
          f"({med['pytorch-fid sqrtm'] / med['ours eig']:.1f}x faster); ours / floor "
          f"{med['ours eig'] / med['floor eigh']:.2f}")
    print(f"FID {ref:.9g} (pytorch-fid) vs {ours:.9g} (ours): relative difference {rel:.2e}")
    cores = os.cpu_count() or 1
    print(f"load {load_before} -> {load_after} on {cores} cores")
    if max(load_before[0], load_after[0]) > cores:
        print("warning: the load average exceeded the core count: the ratios are not a result")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"n": args.n, "dims": args.dims, "rounds": args.rounds, "median_s": med, "times_s": times,
             "fid": values, "relative_difference": rel, "load_before": load_before, "load_after": load_after,
             "cpus": cores, "numpy": np.__version__, "python": platform.python_version()}, indent=2))
    return 0 if rel <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
