#!/usr/bin/env python3
"""Writes tests/data/golden/dagan_augment.npz: the DaGAN authors' training augmentation on fixed random draws.

    python scripts/make_golden_augment.py --dagan_repo /tmp/authors/CVPR2022-DaGAN [--out tests/data/golden]

DIR: a checkout of harlanhong/CVPR2022-DaGAN (never committed here); only its ``augmentation.py`` runs, imported as
a module: ``AllAugmentationTransform(flip_param=..., jitter_param=...)`` applied as ``frames_dataset.py`` applies
it (to ``img_as_float32`` of the uint8 frames). Its module-level ``random`` (Python's stdlib module) is replaced by
a stub that returns this script's draws: ``random()`` the flip draws u1 (u2), ``uniform(a, b)`` the jitter factors,
``shuffle(list)`` a given permutation of [brightness, saturation, hue, contrast] (the enabled ones), so
``tests/dagan/test_train_dataset.py`` can replay the same draws through ``dagan.train.augment``.

The npz holds: ``frames`` (2, 32, 32, 3) uint8 (seeded noise over a colour gradient, with pure black and white
pixels), per case ``u`` (u1, u2; NaN = not drawn), ``factors`` (brightness, contrast, saturation, hue; NaN = off),
``perm`` (the shuffle, -1 padded), ``out`` (the authors' float32 output x 255, as uint8: the script checks that
the float32 output is exactly that uint8 converted: ``img_as_float(.).astype(float32)`` = k / 255 correctly rounded
after the jitter, ``img_as_float32`` = k * float32(1/255) without it, 1 ulp apart for 126 of the 256 values),
``out_float_0`` and ``out_float_5`` (a jittered and a flip-only case's float32 output as is), ``meta`` (JSON:
commit, versions).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]
sys.dont_write_bytecode = True                  # leave the authors' checkout clean

from make_golden import authors_commit, write_npz  # noqa: E402

SEED = 20240521
JITTER_ALL = {"brightness": 0.1, "contrast": 0.1, "saturation": 0.1, "hue": 0.1}
#: (u1, u2 or None, {factor: value} or None for no jitter, permutation, jitter_param)
CASES = [
    ((0.3, None), {"brightness": 1.07, "contrast": 0.93, "saturation": 1.1, "hue": 0.04}, (3, 0, 2, 1), JITTER_ALL),
    ((0.7, 0.2), {"brightness": 0.9, "contrast": 1.1, "saturation": 0.95, "hue": -0.07}, (0, 1, 2, 3), JITTER_ALL),
    ((0.7, 0.8), {"brightness": 1.0999, "contrast": 0.9001, "saturation": 1.02, "hue": -0.1}, (2, 3, 1, 0),
     JITTER_ALL),
    ((0.6, 0.1), {"brightness": 0.95, "contrast": 1.05, "saturation": 0.9, "hue": 0.1}, (1, 2, 0, 3), JITTER_ALL),
    ((0.49, None), {"brightness": 1.0, "contrast": 1.0, "saturation": 1.0, "hue": -0.003}, (3, 2, 1, 0), JITTER_ALL),
    ((0.9, 0.4), None, (), None),
    ((0.5, 0.5), {"hue": 0.05}, (0,), {"brightness": 0, "contrast": 0, "saturation": 0, "hue": 0.05}),
    ((0.1, None), {"brightness": 1.08, "contrast": 0.92}, (1, 0), {"brightness": 0.1, "contrast": 0.1}),
]
FACTOR_NAMES = ("brightness", "contrast", "saturation", "hue")
AUTHOR_ORDER = ("brightness", "saturation", "hue", "contrast")


class ForcedRandom:
    """Stands in for the ``random`` module inside the authors' augmentation.py, replaying given draws."""

    def __init__(self, u: list[float], factors: list[float], perm: tuple[int, ...]):
        self.u, self.factors, self.perm, self.shuffled = list(u), list(factors), perm, False

    def random(self) -> float:
        return self.u.pop(0)

    def uniform(self, a: float, b: float) -> float:
        value = self.factors.pop(0)
        assert a <= value <= b, (a, value, b)
        return value

    def shuffle(self, items: list) -> None:
        assert len(items) == len(self.perm), (len(items), self.perm)
        items[:] = [items[i] for i in self.perm]
        self.shuffled = True

    def check_used(self) -> None:
        assert not self.u and not self.factors and (self.shuffled or not self.perm), "draws left over"


def load_authors(repo: Path):
    spec = importlib.util.spec_from_file_location("dagan_authors_augmentation", repo / "augmentation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def frames() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    y, x = np.mgrid[0:32, 0:32]
    base = np.stack([x * 8, y * 8, (x + y) * 4], axis=-1).astype(np.int64)
    clip = np.clip(base[None] + rng.integers(-60, 61, (2, 32, 32, 3)), 0, 255).astype(np.uint8)
    clip[:, 0, :4] = 0
    clip[:, 1, :4] = 255
    return clip


def run_case(aug, clip: np.ndarray, case) -> np.ndarray:
    from skimage import img_as_float32

    (u1, u2), factors, perm, jitter_param = case
    u = [u1] + ([u2] if u2 is not None else [])
    drawn = [] if factors is None else [factors[k] for k in FACTOR_NAMES if k in factors]
    stub = ForcedRandom(u, drawn, perm)
    aug.random = stub
    transform = aug.AllAugmentationTransform(flip_param={"horizontal_flip": True, "time_flip": True},
                                             jitter_param=jitter_param)
    out = np.stack([np.asarray(f, dtype=np.float32) for f in transform(img_as_float32(clip))])
    stub.check_used()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dagan_repo", type=Path, required=True, help="checkout of harlanhong/CVPR2022-DaGAN")
    p.add_argument("--dagan_commit", help="its commit, when it is not a git checkout")
    p.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "golden")
    args = p.parse_args(argv)
    import PIL
    import skimage
    import torchvision

    commit = authors_commit(args.dagan_repo, args.dagan_commit)
    aug = load_authors(args.dagan_repo)
    clip = frames()
    n = len(CASES)
    arrays = {"frames": clip, "u": np.full((n, 2), np.nan), "factors": np.full((n, 4), np.nan),
              "perm": np.full((n, 4), -1, dtype=np.int64), "out": np.zeros((n, *clip.shape), np.uint8)}
    for i, case in enumerate(CASES):
        out = run_case(aug, clip, case)
        as_bytes = np.rint(out * 255).astype(np.uint8)
        (u1, u2), factors, perm, jitter_param = case
        # img_as_float(uint8).astype(float32) after the jitter; img_as_float32 (k * float32(1/255)) without it
        expect = (as_bytes / 255.0).astype(np.float32) if jitter_param else as_bytes * np.float32(1 / 255)
        assert np.array_equal(out, expect), f"case {i}: not the uint8 values converted as expected"
        arrays["u"][i] = [u1, np.nan if u2 is None else u2]
        for j, name in enumerate(FACTOR_NAMES):
            if factors and name in factors:
                arrays["factors"][i, j] = factors[name]
        arrays["perm"][i, :len(perm)] = perm
        arrays["out"][i] = as_bytes
        if i in (0, 5):
            arrays[f"out_float_{i}"] = out
    meta = {"repository": "harlanhong/CVPR2022-DaGAN", **commit, "ran": "augmentation.py AllAugmentationTransform",
            "stubbed": "augmentation.random (draws forced)", "author_order": list(AUTHOR_ORDER),
            "python": platform.python_version(), "numpy": np.__version__, "skimage": skimage.__version__,
            "pillow": PIL.__version__, "torchvision": torchvision.__version__,
            "command": "python scripts/make_golden_augment.py --dagan_repo <DAGAN_REPO>"}
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    args.out.mkdir(parents=True, exist_ok=True)
    write_npz(args.out / "dagan_augment.npz", arrays)
    print(f"wrote {args.out / 'dagan_augment.npz'} ({n} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
