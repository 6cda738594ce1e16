"""Peak memory and time of `python -m dagan.animate` with a huge source photo vs ordinary ones (the size limit).

    python benchmarks/bench_huge_source.py                 # sources of 8000, 2048 and 512 px, 3 rounds, interleaved
    python benchmarks/bench_huge_source.py --sizes 8000 512 --rounds 5

Each run is a fresh subprocess of the real CLI with the tiny randomly initialised DaGAN (``--random_tiny_model 0
--cpu``) on a JPEG source of the given side (scikit-image's astronaut, enlarged) and a 4-frame 256x256 driving clip.
A source over 2048 px is reduced before any model sees it (talkingface.faces.limit_size), so an 8000 px photo should
cost about what a 2048 px one does; what remains above is decoding the file itself. Rounds are interleaved (every
size once per round), medians are reported, and the load average is printed before and after.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_dagan_memory import peak_rss_of  # noqa: E402


def make_inputs(folder: Path, sizes: list[int]) -> tuple[dict[int, Path], Path]:
    import cv2
    import numpy as np
    from skimage.data import astronaut

    from talkingface.media import VideoWriter, write_image

    sources = {}
    for side in sizes:
        image = cv2.resize(astronaut(), (side, side), interpolation=cv2.INTER_CUBIC)
        sources[side] = write_image(folder / f"source_{side}.jpg", image)
    driving = folder / "driving.mp4"
    frames = cv2.resize(astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    with VideoWriter(driving, 25) as writer:
        writer.write(np.stack([np.roll(frames, 4 * k, axis=1) for k in range(4)]))
    return sources, driving


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[8000, 2048, 512], help="source sides in pixels")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median over them)")
    args = p.parse_args(argv)
    print(f"load before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench_huge_") as tmp:
        sources, driving = make_inputs(Path(tmp), args.sizes)
        results: dict[int, list[tuple[int, float]]] = {side: [] for side in args.sizes}
        for _ in range(args.rounds):
            for side in args.sizes:
                cmd = [sys.executable, "-m", "dagan.animate", "--source_image", str(sources[side]), "--driving_video",
                       str(driving), "--result_video", str(Path(tmp) / f"out_{side}.mp4"), "--random_tiny_model",
                       "0", "--cpu", "--no_progress"]
                rss, seconds, _ = peak_rss_of(cmd)
                results[side].append((rss, seconds))
    print(f"load after:  {os.getloadavg()}")
    print(f"{'source':>10} {'peak RSS (median)':>18} {'wall s (median)':>16}   runs")
    for side, runs in results.items():
        rss = statistics.median(r for r, _ in runs) / 2**30
        secs = statistics.median(s for _, s in runs)
        print(f"{side:>8}px {rss:>15.2f} GB {secs:>16.1f}   " + ", ".join(f"{r / 2**30:.2f} GB/{s:.1f} s"
                                                                        for r, s in runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
