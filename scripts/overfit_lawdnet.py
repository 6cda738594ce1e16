"""Overfit LawDNet's frame stage on one real talking-head clip: the data preparation, training loop and losses learn.

    python scripts/overfit_lawdnet.py --video ../shared/fixtures/dagan/driving.mp4 --work /tmp/overfit_lawdnet

The clip gets an audio track (``--audio``, default the kit's sample speech, looped to the clip's length) and goes
through ``python -m lawdnet.preprocess`` (every step; offline landmarks; dp1/dp2 of tiny RANDOM networks, so the
audio rows mean nothing and only the picture can be learned), then ``python -m lawdnet.train --stage frame_64``
with RANDOM frozen VGG19 (``--random_frozen``: no weights needed), the authors' frame_64 settings but
``--batch_size``, ``--steps`` (``non_decay`` = ``decay`` raised so that the learning-rate rule spans them) and any
``--set``. Measured with the initial generator (one step at a learning rate of 1e-12) and
the trained one, on the same 16 frame-stage items (fixed draws): the MSE of the generated frame against the real
one, over the whole frame and over the masked mouth (weighted by the mask: what the generator has to make), and the
training's ``loss_img`` (mean of the first 10 steps against the last 10 %). Writes ``overfit.json`` and
``overfit.png`` (loss_img per step) into ``--work``. docs/lawdnet_training.md has a run's figures.
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from overfit_dagan import write_plot  # noqa: E402


def with_audio(video: Path, audio: Path, out: Path) -> Path:
    """``out``: the video's frames with ``audio`` looped to its length (AAC)."""
    from talkingface.media import ffmpeg_exe

    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-i", str(video), "-stream_loop", "-1", "-i",
                    str(audio), "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-shortest", str(out)],
                   check=True)
    return out


def reconstruction(stage_dir: Path, json_path: Path, mouth: int, items: int = 16) -> dict[str, float]:
    """MSE (images in [0, 1]) of the stage's last generator on ``items`` fixed frame-stage items: whole frame and the
    masked mouth region."""
    import torch
    from torch.utils.data import default_collate

    from lawdnet import load_generator
    from lawdnet.mouth_mask import keep_weights, mask_mouth
    from lawdnet.train.dataset import FrameDataset

    net = load_generator(stage_dir / "last-checkpoint.pth.tar").eval()
    data = FrameDataset(json_path, mouth_size=mouth, augment_num=items, seed=123)
    data.set_epoch(0)
    batch = default_collate([data[i] for i in range(items)])
    source, refs, audio = (batch[k].float() for k in ("source", "references", "audio"))
    with torch.no_grad():
        masked = mask_mouth(source)
        fake = net(masked, refs, audio).float()
    err = (fake - source) ** 2
    mouth = 1 - keep_weights(*source.shape[-2:])                   # (1, 1, H, W): how much the mask blanked
    return {"mse_frame": float(err.mean()),
            "mse_mouth": float((err * mouth).sum() / (mouth.sum() * err.shape[0] * err.shape[1]))}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", required=True, type=Path, help="a real talking-head clip (a face in every frame)")
    p.add_argument("--audio", type=Path, default=ROOT / "talkingface" / "data" / "sample_speech.wav",
                   help="its audio track (looped; default the kit's sample speech)")
    p.add_argument("--work", required=True, type=Path)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch_size", type=int, default=2)
    p.add_argument("--grad_clip", type=float, help="clip each optimiser's gradient norm (lawdnet.train --grad_clip)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="more config overrides of the training (repeatable), e.g. lambda_g_dI=0")
    args = p.parse_args()

    from lawdnet.cli.preprocess import main as preprocess
    from lawdnet.cli.train import main as train

    t0 = time.time()
    raw = with_audio(args.video, args.audio, args.work / "raw" / f"{args.video.stem}.mp4")
    features = "dp1,dp2" if importlib.util.find_spec("tensorflow") else "dp2"
    data = args.work / "data"
    code = preprocess(["--input_dir", str(raw.parent), "--output_dir", str(data), "--extract_video_frame",
                       "--extract_audio", "--extract_deep_speech", "--crop_face", "--generate_training_json",
                       "--features", features, "--random_model", "0", "--landmarks", "offline", "--device", "cpu",
                       "--no_progress"])
    json_path = data / "training_json" / "training_json.json"
    if code != 0 or not json_path.is_file():
        raise SystemExit(f"preprocess failed (exit {code}); see {data / 'preprocess_report.json'}")
    common = ["--stage", "frame_64", "--data", str(json_path), "--log_dir", str(args.work), "--random_frozen", "0",
              "--workers", "0", "--device", "cpu", "--no_progress", "--set", f"batch_size={args.batch_size}",
              *[a for kv in args.set for a in ("--set", kv)],
              *(["--grad_clip", str(args.grad_clip)] if args.grad_clip else [])]
    assert train([*common, "--name", "init", "--epochs", "1", "--max_steps", "1", "--set", "lr_g=1e-12",
                  "--set", "lr_dI=1e-12"]) == 0
    before = reconstruction(args.work / "init" / "frame_training_64", json_path, 64)
    # the stage's learning-rate rule spans non_decay + decay epochs (then it turns negative): enough for --steps
    per_epoch = max(1, len(json.loads(json_path.read_text())) * 32 // args.batch_size)      # augment_num 32
    half = max(5, -(-args.steps // (2 * per_epoch)))
    assert train([*common, "--name", "overfit", "--max_steps", str(args.steps), "--set", f"non_decay={half}",
                  "--set", f"decay={half}", "--set", "checkpoint=1000000"]) == 0     # one checkpoint, at the end
    stage = args.work / "overfit" / "frame_training_64"
    after = reconstruction(stage, json_path, 64)
    with open(stage / "losses.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    steps, loss_img = [int(r["step"]) for r in rows], [float(r["loss_img"]) for r in rows]
    k = max(1, len(loss_img) // 10)
    first, last = float(np.mean(loss_img[:10])), float(np.mean(loss_img[-k:]))
    write_plot(steps, loss_img, args.work / "overfit.png",
               "LawDNet frame_64 overfit on one clip: loss_img per step (log scale)")
    report = {"video": str(args.video), "audio": str(args.audio), "features": features + " of RANDOM networks",
              "steps": len(rows), "batch_size": args.batch_size, "overrides": args.set, "grad_clip": args.grad_clip,
              **{f"{k}_before": round(v, 5) for k, v in before.items()},
              **{f"{k}_after": round(v, 5) for k, v in after.items()},
              **{f"{k}_ratio": round(before[k] / after[k], 2) for k in before},
              "loss_img_first_10_steps": round(first, 5), "loss_img_last_10pct": round(last, 5),
              "loss_img_ratio": round(first / last, 2), "seconds": round(time.time() - t0, 1)}
    (args.work / "overfit.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
