#!/usr/bin/env python3
"""Convert the official NIQE pristine model (LIVE's modelparameters.mat) into talkingface/data/niqe_pris_params.npz.

The figures are copied unchanged (float64): ``mu_prisparam`` (36,) and ``cov_prisparam`` (36, 36); the npz also
records the sha256 of the .mat it came from. Origin and the required acknowledgement: talkingface/data/NIQE_LICENSE.txt.

    python scripts/make_niqe_params.py [/path/to/modelparameters.mat]   # default: tests/data/niqe/modelparameters.mat
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from talkingface.errors import KitError, cli_main  # noqa: E402
from talkingface.fsutil import write_bytes_atomic  # noqa: E402

DEFAULT_SRC = REPO / "tests" / "data" / "niqe" / "modelparameters.mat"   # LIVE's file, shipped for the tests
DEFAULT_DST = REPO / "talkingface" / "data" / "niqe_pris_params.npz"


def convert(src: Path) -> dict[str, np.ndarray]:
    """Read mu_prisparam / cov_prisparam from the LIVE .mat and check their shapes."""
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(src))
    except (OSError, ValueError) as exc:
        raise KitError(f"{src}: not a readable MATLAB file ({exc})") from exc
    if "mu_prisparam" not in mat or "cov_prisparam" not in mat:
        raise KitError(f"{src}: no mu_prisparam / cov_prisparam variables (is it NIQE's modelparameters.mat?)")
    mu = np.ravel(np.asarray(mat["mu_prisparam"], dtype=np.float64))
    cov = np.asarray(mat["cov_prisparam"], dtype=np.float64)
    if mu.shape != (36,) or cov.shape != (36, 36):
        raise KitError(f"{src}: expected mu 36 and cov 36x36, got {mu.shape} and {cov.shape}")
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    return {"mu_prisparam": mu, "cov_prisparam": cov, "source_sha256": np.array(sha)}


@cli_main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", nargs="?", type=Path, default=DEFAULT_SRC,
                        help=f"LIVE's modelparameters.mat (default: {DEFAULT_SRC})")
    parser.add_argument("--out", type=Path, default=DEFAULT_DST, help=f"output .npz (default: {DEFAULT_DST})")
    args = parser.parse_args(argv)
    if not args.src.is_file():
        raise KitError(f"{args.src}: file not found")
    arrays = convert(args.src)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes_atomic(args.out, buf.getvalue())
    print(f"wrote {args.out} (mu {arrays['mu_prisparam'].shape}, cov {arrays['cov_prisparam'].shape}, "
          f"from {args.src.name} sha256 {str(arrays['source_sha256'])[:12]}…)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
