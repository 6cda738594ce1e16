"""Peak memory of reading a long video frame by frame with talkingface.media.VideoReader.

    python benchmarks/bench_media_memory.py                 # 10-minute 640x360 25 fps clip (the issue's check)
    python benchmarks/bench_media_memory.py --seconds 60    # shorter (the slow test uses this)

Generates the clip with the pinned ffmpeg's ``testsrc`` (+ a sine tone, AAC) into --workdir, then reads it in a
fresh Python process and prints that process's peak RSS (resource.getrusage), its RSS right after importing the kit,
the decoding speed, and what holding every decoded frame would need (the naive way) for comparison.
Prints ``peak_rss_mb <float>`` on its own line for scripts.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from talkingface.media import VideoReader
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
reader = VideoReader(sys.argv[1])
count, checksum = 0, 0
for frame in reader:
    count += 1
    checksum += int(frame[::64, ::64].sum())
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"frames": count, "expected": reader.frame_count, "size": reader.size, "seconds": elapsed,
                  "base_rss_mb": base, "peak_rss_mb": peak}))
"""


def make_clip(path: Path, seconds: int, width: int, height: int, fps: int) -> float:
    sys.path.insert(0, str(REPO))
    from talkingface.media import ffmpeg_exe

    start = time.perf_counter()
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate={fps}",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-movflags", "+faststart", str(path)], check=True)
    return time.perf_counter() - start


def read_once(clip: Path, args) -> dict:
    """Read ``clip`` in a fresh process; print what it measured; its result (frames, seconds, peak_rss_mb …)."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(clip), str(REPO)], check=True, capture_output=True,
                         text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    naive_mb = result["frames"] * args.width * args.height * 3 / 2**20
    print(f"frames read: {result['frames']} (index says {result['expected']}), {result['size'][0]}x{result['size'][1]}")
    print(f"decode speed: {result['frames'] / result['seconds']:.0f} frames/s ({result['seconds']:.1f} s)")
    print(f"RSS after imports: {result['base_rss_mb']:.0f} MB; peak while reading: {result['peak_rss_mb']:.0f} MB")
    print(f"holding all decoded frames (the naive way) would need {naive_mb:.0f} MB "
          f"= {naive_mb / result['peak_rss_mb']:.0f}x our peak")
    print(f"peak_rss_mb {result['peak_rss_mb']:.1f}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, nargs="+", default=[600],
                        help="clip length(s) in seconds (default: 600 = 10 min); two or more, e.g. 60 600, also "
                             "compare the peak RSS of the longest with the shortest (the memory record)")
    parser.add_argument("--width", type=int, default=640, help="frame width (default: 640)")
    parser.add_argument("--height", type=int, default=360, help="frame height (default: 360)")
    parser.add_argument("--fps", type=int, default=25, help="frame rate (default: 25)")
    parser.add_argument("--workdir", help="folder for the generated clip (default: a temporary folder, removed)")
    parser.add_argument("--json", help="with two or more --seconds: write the memory record (benchmarks/benchlib.py)")
    args = parser.parse_args(argv)

    rows, ok = [], True
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.workdir or scratch)
        for seconds in sorted(args.seconds):
            clip = folder / f"bench_{seconds}s_{args.width}x{args.height}.mp4"
            made = make_clip(clip, seconds, args.width, args.height, args.fps)
            print(f"generated {clip.name} ({clip.stat().st_size / 2**20:.1f} MiB) in {made:.1f} s")
            result = read_once(clip, args)
            if not args.workdir:
                clip.unlink()
            if result["frames"] != result["expected"]:
                print("error: frame count differs from the index", file=sys.stderr)
                ok = False
            rows.append({"minutes": seconds / 60, "frames": result["frames"],
                         "peak_rss_mb": round(result["peak_rss_mb"], 1), "seconds": round(result["seconds"], 1)})
    if len(rows) > 1:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import benchlib

        record = benchlib.emit_memory("media_memory", title="Video decoding (talkingface.media.VideoReader)",
                                      settings=f"{args.width}x{args.height} at {args.fps} fps H.264 with AAC audio",
                                      rows=rows, json_path=args.json)
        ok = ok and record["target_met"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
