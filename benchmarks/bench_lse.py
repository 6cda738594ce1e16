"""LSE fast path vs the loop oracle (syncnet_python's evaluate) on the same clip: speed ratio, identical numbers.

    python benchmarks/bench_lse.py                          # ~4 s clip made from the kit's sample speech
    python benchmarks/bench_lse.py --video clip.mp4 --weights checkpoints/syncnet/syncnet_v2.model
    python benchmarks/bench_lse.py --long-minutes 2         # peak memory of the fast path on a long tiny clip

Without --weights a seeded model in the syncnet_v2.model format is used (same FLOPs as the real one).
Three sides, interleaved over --rounds rounds (medians and ranges of the wall time): the oracle (syncnet_python's
evaluate, re-created), the fast path (``syncnet.evaluate_video``: decode, JPEG round trip, MFCC, networks), and the
floor: the networks and the offset distances alone on frames and MFCC windows decoded into memory beforehand. The
numbers of the oracle and the fast path must agree; the load average is printed (a warning above the core count).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def make_weights(folder: Path) -> Path:
    import torch

    from syncnet.model import SyncNet, save_syncnet

    torch.manual_seed(0)
    model = SyncNet()
    with torch.no_grad():
        bias = torch.randn(1024) * 5.0
        model.netfclip[3].bias.copy_(bias)
        model.netfcaud[3].bias.copy_(bias)
    return save_syncnet(model, folder / "syncnet_v2.model")


def make_clip(folder: Path, seconds: float, size: int = 256) -> Path:
    """A face-sized synthetic picture with the kit's sample speech (or a tone), 25 fps H.264 + AAC."""
    from talkingface.media.ffmpeg import run_ffmpeg

    speech = REPO / "talkingface" / "data" / "sample_speech.wav"
    audio = ["-stream_loop", "-1", "-i", str(speech)] if speech.is_file() else \
        ["-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=16000:duration={seconds}"]
    out = folder / f"clip_{seconds:g}s_{size}.mp4"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", f"testsrc2=size={size}x{size}:rate=25:duration={seconds}", *audio,
                "-map", "0:v:0", "-map", "1:a:0", "-t", str(seconds), "-c:v", "libx264", "-pix_fmt", "yuv420p",
                "-c:a", "aac", str(out)], "benchmark clip")
    return out


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def floor_inputs(video: Path):
    """What the networks need, decoded into memory once: the 224x224 frame chunks and the MFCC windows."""
    from syncnet.protocol import SAMPLES_PER_FRAME, WINDOW, ffmpeg_jpeg_frames, mfcc_features, read_audio_16k

    chunks = list(ffmpeg_jpeg_frames(video, size=224))
    audio = read_audio_16k(video)
    n = min(sum(len(c) for c in chunks), len(audio) // SAMPLES_PER_FRAME) - WINDOW
    cct = mfcc_features(audio[: (n + WINDOW) * SAMPLES_PER_FRAME + 400])
    return chunks, cct, n


def floor_run(model, inputs, args):
    """The floor: SyncNet's lip and audio embeddings and the offset distances on pre-loaded inputs, same batch."""
    from syncnet.protocol import audio_embeddings, lip_embeddings, offset_distances

    chunks, cct, n = inputs
    lip, _ = lip_embeddings(model, chunks, n, args.device, args.batch_size)
    return offset_distances(lip[:n], audio_embeddings(model, cct, n, args.device, max(args.batch_size, 64)))


def compare(args) -> int:
    import os
    import statistics

    import numpy as np
    import torch

    import syncnet

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "syncnet"))  # the test oracle
    from _syncnet_oracle import oracle_evaluate

    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(args.weights) if args.weights else make_weights(Path(tmp))
        video = Path(args.video) if args.video else make_clip(Path(tmp), args.seconds)
        model = syncnet.load_syncnet(weights, args.device)
        print(f"clip {video.name}, torch threads {torch.get_num_threads()}, device {args.device}, "
              f"{args.rounds} interleaved rounds")
        inputs = floor_inputs(video)
        sides = {"oracle": lambda: oracle_evaluate(model, video, device=args.device),
                 "fast": lambda: syncnet.evaluate_video(video, model, args.device, batch_size=args.batch_size),
                 "floor": lambda: floor_run(model, inputs, args)}
        names, load_before = list(sides), os.getloadavg()
        walls: dict[str, list[float]] = {k: [] for k in names}
        results = {}
        for r in range(args.rounds):
            for name in names[r % 3:] + names[:r % 3]:
                results[name], w, _ = timed(sides[name])
                walls[name].append(w)
        load_after = os.getloadavg()
    med = {k: statistics.median(v) for k, v in walls.items()}
    fast, oracle = results["fast"], results["oracle"]
    print(f"{'':8} {'offset':>6} {'LSE-D':>10} {'LSE-C':>10} {'windows':>8} {'median s':>9} {'range s':>13}")
    for name, r in (("oracle", oracle), ("fast", fast)):
        print(f"{name:8} {r.offset:>6d} {r.lse_d:>10.5f} {r.lse_c:>10.5f} {r.frames:>8d} {med[name]:>9.2f} "
              f"{min(walls[name]):>6.2f}-{max(walls[name]):.2f}")
    print(f"{'floor':8} {'':>6} {'':>10} {'':>10} {inputs[2]:>8d} {med['floor']:>9.2f} "
          f"{min(walls['floor']):>6.2f}-{max(walls['floor']):.2f}   (networks + distances on pre-loaded inputs)")
    diff = float(np.abs(fast.distances - oracle.distances).max())
    floor_diff = float(np.abs(np.asarray(results["floor"]) - fast.distances).max())
    assert fast.offset == oracle.offset and fast.frames == oracle.frames, "fast path and oracle disagree"
    assert abs(fast.lse_d - oracle.lse_d) < 1e-3 and abs(fast.lse_c - oracle.lse_c) < 1e-3, "numbers differ"
    print(f"max |distance difference| fast vs oracle {diff:.2e}, floor vs fast {floor_diff:.2e}; "
          f"oracle/fast {med['oracle'] / med['fast']:.2f}x, fast/floor {med['fast'] / med['floor']:.2f}")
    cores = os.cpu_count() or 1
    print(f"load {load_before} -> {load_after} on {cores} cores")
    if max(load_before[0], load_after[0]) > cores:
        print("warning: the load average exceeded the core count: the ratios are not a result")
    return 0


def long_run(args) -> int:
    """Peak RSS of the fast path on a long tiny-resolution clip, in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(args.weights) if args.weights else make_weights(Path(tmp))
        video = make_clip(Path(tmp), args.long_minutes * 60, size=32)
        code = ("import resource, sys, time, syncnet; t = time.time(); "
                f"r = syncnet.evaluate_video({str(video)!r}, {str(weights)!r}, {args.device!r}, "
                f"batch_size={args.batch_size}); "
                "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024; "
                "print(r.frames, round(time.time() - t, 1), rss)")
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
        if out.returncode:
            print(out.stderr[-2000:])
            return 1
        frames, seconds, rss = out.stdout.split()
        print(f"{args.long_minutes:g} min clip (32x32 source, resized to 224): {frames} windows in {seconds} s, "
              f"peak RSS {rss} MiB (the ffmpeg subprocesses not included)")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", help="clip with audio (default: a synthetic clip with the kit's sample speech)")
    p.add_argument("--weights", help="syncnet_v2.model (default: a seeded model in that format)")
    p.add_argument("--seconds", type=float, default=4.0, help="length of the generated clip (default 4)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--batch_size", type=int, default=32, help="windows per forward pass of the fast path")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are printed (default 3)")
    p.add_argument("--long-minutes", type=float, default=0, help="instead: peak memory on a clip this long")
    args = p.parse_args()
    return long_run(args) if args.long_minutes else compare(args)


if __name__ == "__main__":
    sys.exit(main())
