"""Peak memory of `python -m dagan.animate` on a 1-minute vs a 10-minute driving video (must not grow: <= 1.1x).

    python benchmarks/bench_dagan_memory.py                      # 64x64 testsrc at 25 fps: 1500 vs 15000 frames
    python benchmarks/bench_dagan_memory.py --fps 1 --size 320x240   # fewer, larger frames on a slow CPU

Each run is a fresh subprocess of the real CLI with a tiny randomly initialised DaGAN (files in the authors'
formats in a temp dir) on an ffmpeg ``testsrc`` video with a sine-tone audio track (so audio muxing is included).
Peak RSS is what ``wait4`` reports for the CLI process: the larger of its own peak and that of any child it waited
for (the ffmpeg encoder). The tiny model still runs its ResNet-18 depth net at 256x256, so on a CPU the frame rate,
not the memory, bounds how long this takes: lower ``--fps`` to keep the frame count manageable (the frame count,
not the duration, is what could make memory grow).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

import benchlib  # noqa: E402


def make_video(path: Path, minutes: float, fps: float, size: str) -> Path:
    from talkingface.media import ffmpeg_exe

    seconds = minutes * 60
    cmd = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y",
           "-f", "lavfi", "-i", f"testsrc=size={size}:rate={fps}:duration={seconds}",
           "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:duration={seconds}",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)]
    subprocess.run(cmd, check=True)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fps", type=float, default=25.0, help="frame rate of the synthetic driving videos (default 25)")
    p.add_argument("--size", default="64x64", help="frame size WxH of the driving videos (default 64x64)")
    p.add_argument("--minutes", default="1,10", help="the two durations to compare (default 1,10)")
    p.add_argument("--batch_size", type=int, default=4, help="--batch_size passed to the CLI (default 4)")
    p.add_argument("--json", help="also write the memory record (benchmarks/benchlib.py) to this file")
    args = p.parse_args(argv)
    short, long = (float(m) for m in args.minutes.split(","))

    import numpy as np

    from dagan.random_weights import write_random_model
    from talkingface.media import probe, write_image

    with tempfile.TemporaryDirectory(prefix="bench_dagan_memory_") as tmp:
        tmp = Path(tmp)
        files = write_random_model(tmp / "model", seed=0, tiny=True)
        y, x = np.mgrid[0:300, 0:240]
        write_image(tmp / "source.png", np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8))
        rows = []
        for minutes in (short, long):
            video = make_video(tmp / f"driving_{minutes:g}min.mp4", minutes, args.fps, args.size)
            info = probe(video)
            cmd = [sys.executable, "-m", "dagan.animate", "--source_image", str(tmp / "source.png"),
                   "--driving_video", str(video), "--result_video", str(tmp / f"out_{minutes:g}.mp4"),
                   "--checkpoint", str(files.checkpoint), "--depth_encoder", str(files.depth_encoder),
                   "--depth_decoder", str(files.depth_decoder), "--config", str(files.config), "--relative",
                   "--adapt_scale", "--cpu", "--no_progress", "--batch_size", str(args.batch_size)]
            child = benchlib.run_child(cmd, cwd=REPO)
            rss, seconds = child.peak_rss, child.seconds
            out = probe(tmp / f"out_{minutes:g}.mp4")
            assert out.frame_count == info.frame_count and out.has_audio, "output incomplete"
            rows.append((minutes, info.frame_count, seconds, rss))
            print(f"{minutes:g} min driving ({info.frame_count} frames {args.size} at {args.fps:g} fps, audio): "
                  f"{seconds:7.1f} s, peak RSS {rss / 2**20:7.1f} MiB", flush=True)
            (tmp / f"out_{minutes:g}.mp4").unlink()
            video.unlink()
    record = benchlib.emit_memory(
        "dagan_memory", title="DaGAN animate (python -m dagan.animate, tiny random model)",
        settings=f"driving {args.size} at {args.fps:g} fps with audio, batch {args.batch_size}, CPU",
        rows=[{"minutes": m, "frames": f, "peak_rss_mb": round(r / 2**20, 1), "seconds": round(t, 1)}
              for m, f, t, r in rows], json_path=args.json)
    return 0 if record["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
