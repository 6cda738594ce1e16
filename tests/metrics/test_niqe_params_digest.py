"""The shipped NIQE parameters are byte for byte the recorded file (no weights needed: a plain test)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "talkingface" / "data" / "niqe_pris_params.npz"
# recorded when the file was committed (bb02989); made by scripts/make_niqe_params.py from LIVE's modelparameters.mat
SHIPPED_SHA256 = "d2a69aa5c90b4fcc4610027e0b49f9ca5a7f385043e4098aaf9775204f1ec3b3"
OFFICIAL_MAT_SHA256 = "fa2aa4d12dd9595c3fb6bf8b4e1a15c79d5d1469238d0901c88dead195be578d"
ARRAYS_SHA256 = "f6284a2b53fd40bbc960472b76ec55b67a299a0270294b804c847e99b8cc1e30"   # mu (36,) then cov (36, 36), <f8


def _arrays_sha256(path: Path) -> str:
    with np.load(path) as npz:
        mu, cov = npz["mu_prisparam"], npz["cov_prisparam"]
    assert mu.shape == (36,) and cov.shape == (36, 36)
    return hashlib.sha256(mu.astype("<f8").tobytes() + cov.astype("<f8").tobytes()).hexdigest()


def test_shipped_niqe_parameters_are_the_recorded_file():
    figures = _arrays_sha256(SHIPPED)
    digest = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert figures == ARRAYS_SHA256, f"{SHIPPED}: the NIQE figures changed (mu/cov sha256 {figures})"
    assert digest == SHIPPED_SHA256, (f"{SHIPPED}: same figures but other bytes (sha256 {digest}); np.savez stamps "
                                      "the time, so a regenerated file differs: restore the committed one")
    with np.load(SHIPPED) as npz:
        assert str(npz["source_sha256"]) == OFFICIAL_MAT_SHA256        # made from LIVE's official .mat
