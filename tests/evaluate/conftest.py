"""Fixtures of the evaluation-runner tests: a tiny evaluation_set from real photos and tiny videos, weights made here.

``eval_set`` (session, read-only — copy it with ``copy_set`` before changing anything)::

    source_self/ gt_self/ generate_base_self/   id0..id2.png (200 px photos of skimage.data; generated = gt + noise)
                                               v0, v1 .mp4 (192x192; v1's generated video is 1 frame shorter)
    source_cross/ gt_cross/ generate_base/      id0..id2.png

``weights_dir``: a checkpoints folder with a randomly initialised FID-Inception and AlexNet in the authors' formats,
set through TALKINGFACE_CHECKPOINTS (TORCH_HOME points at an empty folder so nothing else is found).
``counting_factory``: the registry's ``create_metric`` wrapped so that tests can count frames per metric call
(the runner's ``metric_factory`` hook).
"""
from __future__ import annotations

import collections
import shutil
from pathlib import Path

import numpy as np
import pytest

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
SIZE = 200
VIDEO_SIZE = 192
VIDEO_FRAMES = 5


def photo(i: int, size: int = SIZE) -> np.ndarray:
    import cv2
    from skimage import data

    img = getattr(data, PHOTOS[i % len(PHOTOS)])()
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def noisy(img: np.ndarray, seed: int, amp: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(img.astype(np.int16) + rng.integers(-amp, amp + 1, img.shape), 0, 255).astype(np.uint8)


def video_frames(seed: int, n: int = VIDEO_FRAMES, size: int = VIDEO_SIZE) -> np.ndarray:
    base = photo(seed, size)
    return np.stack([np.roll(base, 3 * k, axis=1) for k in range(n)])


def _write_video(path: Path, frames: np.ndarray) -> None:
    from talkingface.media import VideoWriter

    with VideoWriter(path, 25) as w:
        w.write(frames)


@pytest.fixture(scope="session")
def eval_set(tmp_path_factory) -> Path:
    from talkingface.media.images import write_image

    root = tmp_path_factory.mktemp("evalset") / "evaluation_set"
    for mode, gen_name in (("self", "generate_base_self"), ("cross", "generate_base")):
        for d in (f"source_{mode}", f"gt_{mode}", gen_name):
            (root / d).mkdir(parents=True)
        for i in range(3):
            gt = photo(i)
            write_image(root / f"gt_{mode}" / f"id{i}.png", gt)
            write_image(root / f"source_{mode}" / f"id{i}.png", photo(i + 1))
            write_image(root / gen_name / f"id{i}.png", noisy(gt, seed=10 * i + (mode == "cross")))
    for v in range(2):
        gt = video_frames(v)
        _write_video(root / "gt_self" / f"v{v}.mp4", gt)
        gen = np.stack([noisy(f, seed=100 + k) for k, f in enumerate(gt)])
        _write_video(root / "generate_base_self" / f"v{v}.mp4", gen[: VIDEO_FRAMES - v])
        shutil.copy(root / "source_self" / "id0.png", root / "source_self" / f"v{v}.png")
    return root


@pytest.fixture
def copy_set(eval_set, tmp_path):
    """A private copy of the evaluation set: ``copy_set()`` → Path (optionally only some generate folders)."""

    def make(keep=None) -> Path:
        n = sum(1 for _ in tmp_path.glob("copy*"))
        dst = tmp_path / f"copy{n}" / "evaluation_set"
        shutil.copytree(eval_set, dst)
        if keep is not None:
            for d in dst.iterdir():
                if d.name.startswith("generate") and d.name not in keep:
                    shutil.rmtree(d)
        return dst

    return make


@pytest.fixture(scope="session")
def _weights_files(tmp_path_factory) -> Path:
    import torch
    import torchvision

    from talkingface.metrics.fid_inception import FidInception

    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    (folder / "fid").mkdir()
    fid_net = FidInception()
    for module in fid_net.modules():      # He init keeps activations alive through 90 layers (default init: ~1e-8)
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    torch.save(fid_net.inception.state_dict(), folder / "fid" / "pt_inception-2015-12-05-6726825d.pth")
    (folder / "torchvision").mkdir()
    torch.save(torchvision.models.alexnet().state_dict(), folder / "torchvision" / "alexnet-owt-7be5be79.pth")
    return folder


@pytest.fixture
def weights_dir(_weights_files, monkeypatch, tmp_path) -> Path:
    monkeypatch.setenv("TALKINGFACE_CHECKPOINTS", str(_weights_files))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return _weights_files


@pytest.fixture
def no_weights(monkeypatch, tmp_path) -> Path:
    empty = tmp_path / "no_checkpoints"
    empty.mkdir()
    monkeypatch.setenv("TALKINGFACE_CHECKPOINTS", str(empty))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return empty


class CountingFactory:
    """``create_metric`` whose objects count the frames they are given, per metric and per method."""

    def __init__(self):
        self.frames = collections.Counter()
        self.created = collections.Counter()

    def __call__(self, name, device="cpu", **opts):
        from talkingface.metrics import create_metric

        self.created[name] += 1
        return _Counted(create_metric(name, device=device, **opts), name, self.frames)


class _Counted:
    def __init__(self, metric, name, frames):
        self._m, self._name, self._frames = metric, name, frames
        self.spec = metric.spec

    def __call__(self, generated, reference=None):
        self._frames[self._name] += len(generated)
        return self._m(generated, reference)

    def __getattr__(self, attr):
        value = getattr(self._m, attr)
        if attr in ("add_generated", "add_reference", "features", "add_generated_features", "video"):
            def counted(arg, *a, **k):
                self._frames[f"{self._name}.{attr}"] += len(arg) if hasattr(arg, "__len__") else 1
                return value(arg, *a, **k)
            return counted
        return value


@pytest.fixture
def counting_factory() -> CountingFactory:
    return CountingFactory()


@pytest.fixture
def run_eval(tmp_path):
    """``run_eval(base_dir, generate_dirs=None, out=None, **options)`` → (results, warning lines)."""

    def run(base, generate_dirs=None, out=None, **options):
        from talkingface.evaluation import evaluate

        lines: list[str] = []
        options.setdefault("metrics", ["psnr", "ssim"])  # NIQE costs ~0.5 s per image on 2 cores
        options.setdefault("progress", False)
        options.setdefault("batch_size", 4)
        results = evaluate(base, generate_dirs, out or tmp_path / "out", log=lines.append, **options)
        return results, lines

    return run

