"""Overfit one real talking-head clip with a small DaGAN: the training loop, losses and checkpoints learn.

    python scripts/overfit_dagan.py --video ../shared/fixtures/dagan/driving.mp4 --work /tmp/overfit --steps 1500

The clip (any size; resized to ``--size``) becomes a one-identity dataset (train/ and test/ hold it), trained with
``python -m dagan.train``'s library entry (``dagan.train.run.train``) on the tiny smoke config, with a RANDOM frozen
depth network and VGG19 (``--random_frozen``: no weights needed). Measured before training (the random
initialisation) and after: the self-reconstruction L1 of the clip (source = frame 0, every frame driven in
absolute mode, the authors' ``reconstruction.py`` measure), and the training's perceptual loss (the mean of the first
10 steps, the random initialisation's level, against the mean of the last 10 % of steps). SIGTERM stops the
training early with a checkpoint and the measurements still run. Writes ``overfit.json`` and ``overfit.png`` (the
perceptual loss per step) into ``--work``, and animates the clip with the trained checkpoint through
``python -m dagan.animate``. docs/dagan_training.md has a run's figures (docs/figures/dagan_overfit.png).
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIG = ROOT / "config" / "smoke" / "dagan_tiny.yaml"


def make_dataset(video: Path, root: Path, size: int) -> Path:
    """root/{train,test}/clip#video#000000#NNNNNN.mp4: the clip resized to size x size."""
    from talkingface.media import VideoReader, VideoWriter

    with VideoReader(video) as reader:
        frames = [np.asarray(_resize(f, size)) for f in reader]
        fps = reader.fps
    name = f"clip#{video.stem}#000000#{len(frames) - 1:06d}.mp4"
    for split in ("train", "test"):
        (root / split).mkdir(parents=True, exist_ok=True)
        with VideoWriter(root / split / name, fps, crf=10) as writer:
            for f in frames:
                writer.write(f)
    return root / "train" / name


def _resize(frame: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(frame).resize((size, size), Image.LANCZOS))


def reconstruction_l1(run_dir: Path, checkpoint: Path, clip: Path, size: int) -> float:
    """Mean |prediction - frame| over the clip, source = frame 0, absolute keypoints (reconstruction.py)."""
    import dagan
    from talkingface.media import VideoReader

    with VideoReader(clip) as reader:
        frames = np.stack(list(reader))
    model = dagan.load_model(checkpoint, run_dir / "random_depth" / "encoder.pth",
                             run_dir / "random_depth" / "depth.pth", config=run_dir / "config.yaml", kp_num=None,
                             frame_size=size)
    out = model.animate(frames[0], frames, relative=False, adapt_scale=False)
    return float(np.abs(out - frames.astype(np.float32) / 255).mean())


def write_plot(steps: list[int], values: list[float], path: Path,
               title: str = "DaGAN overfit on one clip: perceptual loss per step (log scale)") -> None:
    """A small line plot (PIL; log-scale y) of a loss per step."""
    from PIL import Image, ImageDraw

    w, h, pad = 640, 360, 48
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    logs = np.log10(np.maximum(values, 1e-8))
    lo, hi = float(np.floor(logs.min())), float(np.ceil(logs.max()))
    hi = hi if hi > lo else lo + 1
    xs = [pad + (s - steps[0]) / max(steps[-1] - steps[0], 1) * (w - 2 * pad) for s in steps]
    ys = [h - pad - (v - lo) / (hi - lo) * (h - 2 * pad) for v in logs]
    d.rectangle([pad, pad, w - pad, h - pad], outline="black")
    for e in np.arange(lo, hi + 1):
        y = h - pad - (e - lo) / (hi - lo) * (h - 2 * pad)
        d.line([pad - 4, y, pad, y], fill="black")
        d.text((4, y - 6), f"1e{int(e)}", fill="black")
    d.line(list(zip(xs, ys, strict=True)), fill=(200, 30, 30), width=1)
    d.text((pad, 12), title, fill="black")
    d.text((w // 2 - 20, h - pad + 12), f"step 0 .. {steps[-1]}", fill="black")
    img.save(path)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", required=True, type=Path)
    p.add_argument("--work", required=True, type=Path)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batchsize", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-4)
    args = p.parse_args()

    from dagan.train.options import TrainOptions
    from dagan.train.run import train

    data = args.work / "data"
    clip = make_dataset(args.video, data, args.size)
    common = dict(config=str(CONFIG), data=str(data), log_dir=str(args.work), random_frozen=0, batchsize=args.batchsize,
                  workers=0, eval_pairs=0, progress=False, lr=args.lr, seed=0,
                  overrides=[f"dataset_params.frame_shape=[{args.size},{args.size},3]"])
    # the random initialisation, measured: one step at lr ~0 writes a checkpoint of the initial networks
    t0 = time.time()
    train(TrainOptions(**{**common, "lr": 1e-12}, name="_init", epochs=1, num_repeats=args.batchsize, max_steps=1))
    init_dir = args.work / "dagan_tiny_init"
    before = reconstruction_l1(init_dir, init_dir / "last-checkpoint.pth.tar", clip, args.size)
    result = train(TrainOptions(**common, name="_overfit", epochs=1, num_repeats=args.steps * args.batchsize,
                                max_steps=args.steps, checkpoint_every_minutes=1e9))
    run_dir = args.work / "dagan_tiny_overfit"
    after = reconstruction_l1(run_dir, run_dir / "last-checkpoint.pth.tar", clip, args.size)
    with open(run_dir / "losses.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    steps = [int(r["step"]) for r in rows]
    perceptual = [float(r["perceptual"]) for r in rows]
    k = max(1, len(perceptual) // 10)
    first, last = float(np.mean(perceptual[:10])), float(np.mean(perceptual[-k:]))
    write_plot(steps, perceptual, args.work / "overfit.png")
    animate = [sys.executable, "-m", "dagan.animate", "--source_image", str(args.work / "source.png"),
               "--driving_video", str(args.video), "--result_video", str(args.work / "animated.mp4"),
               "--checkpoint", str(run_dir / "last-checkpoint.pth.tar"), "--config", str(run_dir / "config.yaml"),
               "--kp_num", "10", "--depth_encoder", str(run_dir / "random_depth" / "encoder.pth"),
               "--depth_decoder", str(run_dir / "random_depth" / "depth.pth"), "--cpu"]
    from PIL import Image

    from talkingface.media import VideoReader

    with VideoReader(clip) as reader:
        Image.fromarray(next(iter(reader))).save(args.work / "source.png")
    code = subprocess.run(animate, cwd=ROOT).returncode
    report = {"video": str(args.video), "size": args.size, "steps": result.steps, "batchsize": args.batchsize,
              "lr": args.lr, "reconstruction_l1_before": round(before, 5), "reconstruction_l1_after": round(after, 5),
              "l1_ratio": round(before / after, 2), "perceptual_first_10_steps": round(first, 4),
              "perceptual_last_10pct": round(last, 4), "perceptual_ratio": round(first / last, 2),
              "animate_exit_code": code, "seconds": round(time.time() - t0, 1)}
    (args.work / "overfit.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
