"""The inputs of benchmarks/bench_evaluate.py, made before any clock starts: a synthetic evaluation set (H.264
generated/ground-truth pairs), its first-K subset, random FID-Inception and AlexNet weights where the kit and
torch.hub look for them, and every pair's frames decoded into memory for the floor.
"""
from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

FID_FILE = "pt_inception-2015-12-05-6726825d.pth"
ALEX_FILE = "alexnet-owt-7be5be79.pth"
GEN, GT = "generate_bench_self", "gt_self"


def make_data(root: Path, pairs: int, frames: int, size: int) -> Path:
    """``pairs`` generated/ground-truth H.264 pairs, written by a thread pool (ffmpeg does the work); pair p's
    frames depend on p only, so the set is the same whatever the order the threads finish in."""
    import cv2
    from skimage import data

    from talkingface.media import VideoWriter

    photos = [cv2.resize(f(), (size + 64, size + 64), interpolation=cv2.INTER_AREA)
              for f in (data.astronaut, data.chelsea, data.coffee, data.rocket, data.immunohistochemistry)]
    base = root / "evaluation_set"
    (base / GT).mkdir(parents=True)
    (base / GEN).mkdir()
    width = max(2, len(str(pairs - 1)))

    def one(p: int) -> None:
        img = photos[p % len(photos)]
        gt = np.stack([img[(k * 2) % 64:(k * 2) % 64 + size, (k * 3 + p) % 64:(k * 3 + p) % 64 + size]
                       for k in range(frames)])
        noise = np.random.default_rng([0, p]).integers(-10, 11, gt.shape)
        gen = np.clip(gt.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        for folder, clip in ((GT, gt), (GEN, gen)):
            with VideoWriter(base / folder / f"p{p:0{width}d}.mp4", 25) as w:
                w.write(clip)

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(one, range(pairs)))
    return base


def subset(base: Path, k: int) -> Path:
    """A second evaluation set holding the first ``k`` pairs (hard links), so FID's reference set is theirs too."""
    out = base.with_name(f"evaluation_set_first{k}")
    for folder in (GT, GEN):
        (out / folder).mkdir(parents=True)
        for path in sorted((base / folder).glob("*.mp4"))[:k]:
            os.link(path, out / folder / path.name)
    return out


def make_weights(root: Path, metrics: list) -> dict:
    """Random FID-Inception and AlexNet weights where the kit's manifest and torch.hub look for them."""
    import torch

    from talkingface.metrics.fid_inception import FidInception

    torch.manual_seed(0)
    net = FidInception()
    for module in net.modules():          # He init keeps the random network's features from vanishing
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    ckpt, hub = root / "checkpoints", root / "torch_home" / "hub" / "checkpoints"
    for folder in (ckpt / "fid", hub, ckpt / "torchvision", ckpt / "lpips" / "v0.1"):
        folder.mkdir(parents=True, exist_ok=True)
    for folder in (ckpt / "fid", hub):
        torch.save(net.inception.state_dict(), folder / FID_FILE)
    linear = ckpt / "lpips" / "v0.1" / "alex.pth"
    if "lpips" in metrics:                # a torchvision AlexNet state dict, the lpips package's linear layers
        import lpips as lpips_pkg
        import torchvision

        torch.manual_seed(1)
        torch.save(torchvision.models.alexnet(weights=None).state_dict(), ckpt / "torchvision" / ALEX_FILE)
        shutil.copyfile(Path(lpips_pkg.__file__).parent / "weights" / "v0.1" / "alex.pth", linear)
    os.environ["TALKINGFACE_CHECKPOINTS"] = str(ckpt)
    os.environ["TORCH_HOME"] = str(root / "torch_home")
    return {"alexnet": ckpt / "torchvision" / ALEX_FILE, "linear": linear}


def decode_all(base: Path) -> tuple[np.ndarray, np.ndarray, list]:
    """Every pair's frames in memory: generated (N,H,W,3), ground truth (N,H,W,3) (paired, the shorter) and the
    frames per sample."""
    from talkingface.media import VideoReader

    gens, refs, lengths = [], [], []
    for gen_path in sorted((base / GEN).glob("*.mp4")):
        g = np.stack(list(VideoReader(gen_path)))
        r = np.stack(list(VideoReader(base / GT / gen_path.name)))
        n = min(len(g), len(r))
        gens.append(g[:n])
        refs.append(r[:n])
        lengths.append(n)
    return np.concatenate(gens), np.concatenate(refs), lengths
