"""Peak memory of the LawDNet lip-sync pipeline for 1 vs 10 minutes of audio (must not grow: <= 1.1x).

    python benchmarks/bench_lawdnet_memory.py                  # 1 and 10 min of the sample speech, looped
    python benchmarks/bench_lawdnet_memory.py --minutes 1 30

Each length runs :func:`lawdnet.pipeline.lip_sync_video` in a fresh subprocess with a stand-in generator (its
memory does not depend on the audio's length, and its time would dominate: 15000 frames) and the tiny random dp2
network, on a 2 s 320x320 template of the sample head played back and forth. Peak RSS is wait4's.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

import benchlib  # noqa: E402
from lawdnet_inputs import make_audio, make_template  # noqa: E402

MEMORY_SCRIPT = """
import sys, resource, torch
from torch import nn
from lawdnet.model import LipSyncModel
from lawdnet.pipeline import lip_sync_video
from talkingface.landmarks import make_backend
sys.path.insert(0, sys.argv[5])
from bench_lawdnet import dp2_source

class StandIn(nn.Module):  # the generator's memory does not depend on the audio's length; its time would dominate
    def forward(self, source, reference, audio):
        return 0.5 * source + 0.5 * reference[:, :3] + audio.mean() * 0

r = lip_sync_video(LipSyncModel(StandIn(), int(sys.argv[4])), sys.argv[1], sys.argv[2], sys.argv[3],
                   dp2_source("cpu", full=False), make_backend("offline"), batch_size=20, cache_dir=None)
print(r.frames, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def memory(args) -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-lawdnet-mem-"))
    try:
        template = make_template(work / "template.mp4", 50, size=(320, 320), face=256)   # 15000 frames to go
        results = []
        for minutes in args.minutes:
            audio = make_audio(work / f"speech_{minutes:g}.wav", minutes * 60)
            before = benchlib.load_average()
            child = benchlib.run_child([sys.executable, "-c", MEMORY_SCRIPT, str(template), str(audio),
                                        str(work / "out.mp4"), str(args.mouthsize), str(Path(__file__).parent)],
                                       cwd=REPO)
            frames, peak = int(child.stdout.split()[0]), child.peak_rss
            results.append((minutes, frames, peak, child.seconds))
            print(f"{minutes:g} min of audio: {frames} frames, peak RSS {peak / 2**20:.0f} MiB, "
                  f"{child.seconds:.0f} s (load {before} -> {benchlib.load_average()})")
        record = benchlib.emit_memory(
            "lawdnet_memory", title="LawDNet lip sync (lip_sync_video, stand-in generator)",
            settings=f"audio looped to each length, 2 s 320x320 template, mouth {args.mouthsize}, CPU",
            rows=[{"minutes": m, "frames": f, "peak_rss_mb": round(p / 2**20, 1), "seconds": round(t, 1)}
                  for m, f, p, t in results], json_path=args.json)
        return 0 if record["target_met"] else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, nargs=2, default=[1.0, 10.0], help="the two audio lengths (1 10)")
    p.add_argument("--mouthsize", type=int, default=288, help="mouth size of the crops (default 288)")
    p.add_argument("--json", help="also write the memory record (benchmarks/benchlib.py) to this file")
    return memory(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
