"""FID's Fréchet distance at 2048 dims: pytorch-fid's sqrtm vs the kit's eigenvalue route, same statistics.

    python benchmarks/bench_fid_distance.py                       # N = 3000 per set, 2048 dims, 5 rounds
    python benchmarks/bench_fid_distance.py --n 5000 --rounds 7 --json fid_distance.json
    python benchmarks/bench_fid_distance.py --n 600 --dims 256 --rounds 3      # a quick check

Both sides get the same (mean, covariance) pairs of two sets of feature rows shaped like InceptionV3 pool3
activations (non-negative, correlated, a decaying spectrum; N > 2048 so the covariances have full rank, the case
where ``--fid_method auto`` takes the eigenvalue route):

* pytorch-fid: ``pytorch_fid.fid_score.calculate_frechet_distance`` (scipy ``sqrtm`` of Σ1 Σ2, real part) — the
  reference, what ``--fid_method sqrtm`` calls;
* ours: ``talkingface.metrics.fid.frechet_distance(..., method="eig")`` — one generalized symmetric eigenvalue
  problem (``scipy.linalg.eigh(Σ2, Σ1, type=2, eigvals_only=True)``: Cholesky, reduction, eigenvalues only);
* the floor: the eigenvalues (only) of one 2048² symmetric matrix, ``numpy.linalg.eigvalsh`` — the step no exact
  route avoids. Any exact route also has to bring Σ1 Σ2 to a symmetric matrix first (here the Cholesky factor and
  the reduction, about as many flops again), so ours/floor near 2 is that work, not overhead.

Rounds interleave the sides (the order rotates); printed: the median and range of each, ours/pytorch-fid, the
relative difference of the two values (must be <= 1e-6), the load average before and after (a warning when it
exceeds the core count) and the versions; then the ``BENCH_RESULT`` record of benchmarks/benchlib.py (sides
reference = pytorch-fid, ours, floor; no target: reported only), also written to ``--json PATH``. numpy/scipy on the
CPU only: there is no device flag.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "metrics"))          # the tests' pool3-like feature rows
sys.path.insert(0, str(REPO / "benchmarks"))

import benchlib  # noqa: E402

LABELS = {"reference": "pytorch-fid sqrtm", "ours": "ours eig", "floor": "floor eigvalsh"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=3000, help="feature rows per set (default 3000; > dims)")
    p.add_argument("--dims", type=int, default=2048, help="feature size (default 2048, FID's)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    p.add_argument("--json", metavar="PATH", help="also write the BENCH_RESULT record (benchmarks/benchlib.py) here")
    args = p.parse_args(argv)
    from _metric_images import pool3_like_features
    from pytorch_fid.fid_score import calculate_frechet_distance

    from talkingface.metrics.fid import frechet_distance

    x, y = pool3_like_features(args.n, args.dims, 1), pool3_like_features(args.n + 11, args.dims, 2, shift=0.2)
    stats = (x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
    sides = {"reference": lambda: calculate_frechet_distance(*stats),
             "ours": lambda: frechet_distance(*stats, method="eig"),
             "floor": lambda: np.linalg.eigvalsh(stats[1])}
    load_before = benchlib.load_average()
    times, results = benchlib.interleaved(sides, args.rounds)
    load_after = benchlib.load_average()
    values = {LABELS[k]: float(results[k]) for k in ("reference", "ours")}
    med = {k: statistics.median(v) for k, v in times.items()}
    ref, ours = values["pytorch-fid sqrtm"], values["ours eig"]
    rel = abs(ours - ref) / abs(ref)
    for name, ts in times.items():
        print(f"{LABELS[name]:18s} median {med[name]:7.3f} s  (range {min(ts):.3f}–{max(ts):.3f}, {len(ts)} rounds)")
    print(f"ours / pytorch-fid: {med['ours'] / med['reference']:.3f} "
          f"({med['reference'] / med['ours']:.1f}x faster); ours / floor "
          f"{med['ours'] / med['floor']:.2f}")
    print(f"FID {ref:.9g} (pytorch-fid) vs {ours:.9g} (ours): relative difference {rel:.2e}")
    cores = os.cpu_count() or 1
    print(f"load {load_before} -> {load_after} on {cores} cores")
    benchlib.emit("fid_distance", title=f"FID Fréchet distance ({args.dims} dims)",
                  settings=f"N = {args.n} and {args.n + 11} rows x {args.dims} dims, float64, CPU (numpy/scipy)",
                  device="cpu", unit="distances", work=1, times=times, load_before=load_before, check_ok=rel <= 1e-6,
                  check_detail=f"relative difference ours vs pytorch-fid {rel:.1e} (<= 1e-6)",
                  target="report only", json_path=args.json,
                  extra={"n": args.n, "dims": args.dims, "fid": values, "relative_difference": rel,
                         "numpy": np.__version__, "python": platform.python_version(),
                         "env_threads": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}})
    return 0 if rel <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
