"""The kit's LawDNet and DINet against the authors' own code: tests/data/golden/lawdnet.* (make_golden_lawdnet.py).

Formula weights from tests/golden_weights.py (digest checked), written in the authors' checkpoint formats and loaded
through ``lawdnet.checkpoint.load_generator``; inputs made by golden_weights.lawdnet_inputs (sha256 checked).
Tolerance: max |kit - authors| <= 1e-4 on every stored pixel and code value (measured: 0, README.md there).
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from golden_weights import lawdnet_batch, lawdnet_inputs, load_golden, write_lawdnet_file

from lawdnet.checkpoint import load_generator
from lawdnet.modules import local_affine_warp

TOL = 1e-4
MEAN_TOL = 1e-5
REGENERATE = "regenerate with scripts/make_golden_lawdnet.py (tests/data/golden/README.md)"
CASES = [("lawdnet", 288), ("lawdnet", 64), ("dinet", 256), ("dinet", 64)]


@pytest.fixture(scope="module")
def golden():
    return load_golden("lawdnet")


@pytest.fixture(scope="module")
def models(golden):
    out = {}
    with tempfile.TemporaryDirectory(prefix="lawdnet_golden_") as tmp:
        for model in ("lawdnet", "dinet"):
            path, digest = write_lawdnet_file(Path(tmp) / f"{model}.pth", model)
            assert digest == golden[0]["weights"]["state_sha256"][model], f"the weight formula changed; {REGENERATE}"
            out[model] = load_generator(path, model=model)
    return out


def _run(net, mouth):
    with torch.no_grad():
        src, ref, aud = lawdnet_batch(mouth)
        code = net.parameters_code(net.source_in_conv(src), net.ref_in_conv(ref), aud)
        return net(src, ref, aud).numpy(), code.numpy()


def _compare(golden, name, out, code):
    doc, arrays = golden
    row, col, step = doc["grids"][name]
    ours = out[:, :, row::step, col::step]
    assert ours.shape == arrays[f"{name}_out"].shape
    diff = float(np.abs(ours - arrays[f"{name}_out"]).max())
    code_diff = float(np.abs(code - arrays[f"{name}_trans_para"]).max())
    means = out.astype(np.float64).mean(axis=(2, 3))
    mean_diff = float(np.abs(means - np.array(doc["full_means"][name])).max())
    return diff, code_diff, mean_diff


def test_golden_is_not_trivial(golden):
    doc, _ = golden
    for name, checks in doc["checks"].items():
        low = {k: v for k, v in checks.items() if k in doc["check_min"] and v < doc["check_min"][k]}
        high = {k: v for k, v in checks.items() if k in doc["check_max"] and v > doc["check_max"][k]}
        assert not low and not high, f"{name}: golden outputs too trivial: {low} {high}"
    assert len(doc["authors"]["LawDNet_2024"]["commit"]) == 40 and len(doc["authors"]["DINet"]["commit"]) == 40


@pytest.mark.parametrize("mouth", sorted({m for _, m in CASES}))
def test_inputs_are_the_goldens(golden, mouth):
    digests = golden[0]["inputs"]["sha256"][str(mouth)]
    arrays = lawdnet_inputs(mouth)
    for key, value in arrays.items():
        assert hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest() == digests[key], (key, REGENERATE)


@pytest.mark.parametrize(("model", "mouth"), CASES)
def test_forward_equals_authors(golden, models, model, mouth):
    out, code = _run(models[model], mouth)
    diff, code_diff, mean_diff = _compare(golden, f"{model}_{mouth}", out, code)
    assert code_diff <= TOL, f"{model} {mouth}: parameter code max |kit - authors| = {code_diff:.3g}"
    assert diff <= TOL, f"{model} {mouth}: output max |kit - authors| = {diff:.3g} > {TOL}"
    assert mean_diff <= MEAN_TOL, f"{model} {mouth}: channel means differ by {mean_diff:.3g}"


def _natural_layout(grid, size, antialias=True):
    """What a tidy re-implementation would write: resize the (x, y) grid channels-first, no scrambling."""
    B, C, H0, W0, _ = grid.shape
    flat = grid.permute(0, 1, 4, 2, 3).reshape(B, C * 2, H0, W0)
    flat = torch.nn.functional.interpolate(flat, size=size, mode="bilinear", align_corners=False,
                                           antialias=antialias)
    return flat.view(B, C, 2, *size).permute(0, 1, 3, 4, 2)


@pytest.mark.parametrize("slip", ["natural_layout", "swapped_xy", "no_antialias"])
def test_a_slip_in_the_reshape_chain_fails_the_golden(golden, models, monkeypatch, slip):
    real = local_affine_warp.authors_grid_layout
    if slip == "natural_layout":
        fake = _natural_layout
    elif slip == "swapped_xy":
        def fake(grid, size, antialias=True):
            return real(grid.flip(-1), size, antialias)
    else:
        def fake(grid, size, antialias=True):
            return real(grid, size, False)
    monkeypatch.setattr(local_affine_warp, "authors_grid_layout", fake)
    out, code = _run(models["lawdnet"], 64)
    diff, _, _ = _compare(golden, "lawdnet_64", out, code)
    assert diff > 100 * TOL, f"{slip}: the golden does not notice the slip (max diff {diff:.3g})"
