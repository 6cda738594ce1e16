"""Peak memory of `python -m talkingface evaluate` on one 1-minute vs one 10-minute video pair (must not grow: <= 1.1x).

    python benchmarks/bench_evaluate_memory.py                       # 128x128 at 1 fps: 60 vs 600 frame pairs
    python benchmarks/bench_evaluate_memory.py --fps 25 --size 64x64 # every frame of a 25 fps clip (slow on a CPU)

Each run is a fresh subprocess of the real CLI on a one-pair evaluation set: the ground truth is ffmpeg's
``testsrc`` (a moving pattern) and the generated video the same with ffmpeg's temporal noise, H.264, so PSNR and
SSIM are finite and every frame differs. Metrics NIQE, PSNR, SSIM, FID and LPIPS, with random FID-Inception and
AlexNet weights where the kit looks for them (benchmarks/evaluate_inputs.py): the memory, not the numbers, is
measured. Peak RSS is what ``wait4`` reports for the CLI process (the larger of its own peak and that of any child
it waited for). The frame count, not the duration, is what could make memory grow: per-frame scores, FID's
features, the decoder's buffers; lower ``--fps`` keeps a CPU run short.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

import benchlib  # noqa: E402
from evaluate_inputs import GEN, GT, make_weights  # noqa: E402


def make_pair(base: Path, minutes: float, fps: float, size: str) -> None:
    """``base/gt_self/p0.mp4`` (testsrc) and ``base/generate_bench_self/p0.mp4`` (testsrc + temporal noise)."""
    from talkingface.media import ffmpeg_exe

    seconds = minutes * 60
    for folder, extra in ((GT, []), (GEN, ["-vf", "noise=alls=12:allf=t"])):
        (base / folder).mkdir(parents=True, exist_ok=True)
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc=size={size}:rate={fps:g}:duration={seconds:g}", *extra, "-c:v", "libx264",
                        "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(base / folder / "p0.mp4")], check=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fps", type=float, default=1.0, help="frame rate of the synthetic pair (default 1)")
    p.add_argument("--size", default="128x128", help="frame size WxH (default 128x128; NIQE needs >= 96 px)")
    p.add_argument("--minutes", type=float, nargs=2, default=[1.0, 10.0], help="the two lengths (default 1 10)")
    p.add_argument("--metrics", default="niqe,psnr,ssim,fid,lpips", help="--metrics of the CLI")
    p.add_argument("--batch_size", type=int, default=16, help="--batch_size of the CLI (default 16)")
    p.add_argument("--device", default="cpu", help="--device of the CLI (default cpu)")
    p.add_argument("--json", help="also write the memory record (benchmarks/benchlib.py) to this file")
    args = p.parse_args(argv)
    metrics = args.metrics.split(",")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_evaluate_memory_") as tmp:
        tmp = Path(tmp)
        make_weights(tmp, metrics)                  # sets TALKINGFACE_CHECKPOINTS and TORCH_HOME for the children
        env = dict(os.environ)
        for minutes in args.minutes:
            base = tmp / f"set_{minutes:g}"
            make_pair(base, minutes, args.fps, args.size)
            out = tmp / f"results_{minutes:g}"
            cmd = [sys.executable, "-m", "talkingface", "evaluate", "--base_dir", str(base), "--generate_dirs", GEN,
                   "--output_path", str(out), "--metrics", *metrics, "--device", args.device, "--batch_size",
                   str(args.batch_size), "--no_progress"]
            load = os.getloadavg()
            child = benchlib.run_child(cmd, cwd=REPO, env=env)
            rss, seconds = child.peak_rss, child.seconds
            frames = round(minutes * 60 * args.fps)
            if not (out / "full_results.json").is_file():
                raise SystemExit(f"{out}: no full_results.json: the run did not finish")
            rows.append({"minutes": minutes, "frames": frames, "peak_rss_mb": round(rss / 2**20, 1),
                         "seconds": round(seconds, 1)})
            print(f"{minutes:g} min pair ({frames} frame pairs {args.size} at {args.fps:g} fps, {args.metrics}): "
                  f"{seconds:.0f} s, peak RSS {rss / 2**20:.0f} MiB (load {load[0]:.2f} -> {os.getloadavg()[0]:.2f})",
                  flush=True)
    record = benchlib.emit_memory(
        "evaluate_memory", title="Evaluation (python -m talkingface evaluate, random weights)",
        settings=f"one {args.size} pair at {args.fps:g} fps, {args.metrics}, batch {args.batch_size}, {args.device}",
        rows=rows, json_path=args.json)
    return 0 if record["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
