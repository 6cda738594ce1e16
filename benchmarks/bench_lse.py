"""LSE fast path vs the loop oracle (syncnet_python's evaluate) on the same clip: speed ratio, identical numbers.

    python benchmarks/bench_lse.py                          # ~4 s clip made from the kit's sample speech
    python benchmarks/bench_lse.py --video clip.mp4 --weights checkpoints/syncnet/syncnet_v2.model
    python benchmarks/bench_lse.py --long-minutes 2         # peak memory of the fast path on a long tiny clip
    python benchmarks/bench_lse.py --device cuda --videos 8 --seconds 10 --rounds 3 --json lse.json   # videos/min

Without --weights a seeded model in the syncnet_v2.model format is used (same FLOPs as the real one).
Three sides, interleaved over --rounds rounds (medians and ranges of the wall time): the oracle (syncnet_python's
evaluate, re-created), the fast path (``syncnet.evaluate_video``: decode, JPEG round trip, MFCC, networks), and the
floor: the networks and the offset distances alone on frames and MFCC windows decoded into memory beforehand. The
numbers of the oracle and the fast path must agree; the load average is printed (a warning above the core count).

``--videos N`` times the fast path and the floor over N distinct clips of ``--seconds`` each (the audio starts at a
different point of the sample speech in each) and reports videos per minute; the oracle (slower) is timed on the
first clip only and its time multiplied by N (said in the record's settings and extra). The table gives seconds per
clip. The last line is the ``BENCH_RESULT`` record of benchmarks/benchlib.py (sides authors = the oracle, ours = the
fast path, floor), also written to ``--json PATH``. Target: on CUDA with 10 s clips at least 50 clips per minute
(H100), otherwise ours/floor <= 1.25.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import benchlib  # noqa: E402

VIDEOS_PER_MIN_TARGET = 50          # issue 17: LSE of at least 50 videos of 10 s per minute on an H100


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


def make_clip(folder: Path, seconds: float, size: int = 256, index: int = 0) -> Path:
    """A face-sized synthetic picture with the kit's sample speech (or a tone), 25 fps H.264 + AAC; clip ``index``
    starts its (looped) speech ``0.37 * index`` s later, so that several clips hold different audio."""
    from talkingface.media.ffmpeg import run_ffmpeg

    speech = REPO / "talkingface" / "data" / "sample_speech.wav"
    start = ["-ss", f"{0.37 * index:.2f}"] if index else []
    audio = ["-stream_loop", "-1", *start, "-i", str(speech)] if speech.is_file() else \
        ["-f", "lavfi", "-i", f"sine=frequency={220 + 10 * index}:sample_rate=16000:duration={seconds}"]
    out = folder / f"clip_{seconds:g}s_{size}_{index}.mp4"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", f"testsrc2=size={size}x{size}:rate=25:duration={seconds}", *audio,
                "-map", "0:v:0", "-map", "1:a:0", "-t", str(seconds), "-c:v", "libx264", "-pix_fmt", "yuv420p",
                "-c:a", "aac", str(out)], "benchmark clip")
    return out


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
    import statistics

    import numpy as np
    import torch

    import syncnet

    sys.path.insert(0, str(REPO / "tests" / "syncnet"))  # the test oracle
    from _syncnet_oracle import oracle_evaluate

    n_videos, dev = max(1, args.videos), args.device
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(args.weights) if args.weights else make_weights(Path(tmp))
        clips = [Path(args.video)] * n_videos if args.video else \
            [make_clip(Path(tmp), args.seconds, index=i) for i in range(n_videos)]
        model = syncnet.load_syncnet(weights, dev)
        print(f"clip {clips[0].name}{f' and {n_videos - 1} more' if n_videos > 1 else ''}, torch threads "
              f"{torch.get_num_threads()}, device {dev}, {args.rounds} interleaved rounds")
        inputs = [floor_inputs(c) for c in clips]
        first = inputs[0]
        floor_run(model, ([first[0][0]], first[1], min(first[2], args.batch_size)), args)   # warm-up (cuDNN, allocator)
        sides = {"authors": lambda: oracle_evaluate(model, clips[0], device=dev),
                 "ours": lambda: [syncnet.evaluate_video(c, model, dev, batch_size=args.batch_size) for c in clips],
                 "floor": lambda: [floor_run(model, x, args) for x in inputs]}
        load_before = benchlib.load_average()
        times, results = benchlib.interleaved(sides, args.rounds, dev)
    per_clip = {"authors": 1, "ours": n_videos, "floor": n_videos}          # clips per timed run
    walls = {k: [t / per_clip[k] for t in v] for k, v in times.items()}     # seconds per clip
    med = {k: statistics.median(v) for k, v in walls.items()}
    fast, oracle = results["ours"][0], results["authors"]
    print(f"{'':8} {'offset':>6} {'LSE-D':>10} {'LSE-C':>10} {'windows':>8} {'median s':>9} {'range s':>13}")
    for name, key, r in (("oracle", "authors", oracle), ("fast", "ours", fast)):
        print(f"{name:8} {r.offset:>6d} {r.lse_d:>10.5f} {r.lse_c:>10.5f} {r.frames:>8d} {med[key]:>9.2f} "
              f"{min(walls[key]):>6.2f}-{max(walls[key]):.2f}")
    print(f"{'floor':8} {'':>6} {'':>10} {'':>10} {first[2]:>8d} {med['floor']:>9.2f} "
          f"{min(walls['floor']):>6.2f}-{max(walls['floor']):.2f}   (networks + distances on pre-loaded inputs)")
    diff = float(np.abs(fast.distances - oracle.distances).max())
    floor_diff = max(float(np.abs(np.asarray(f) - r.distances).max())
                     for f, r in zip(results["floor"], results["ours"], strict=True))
    same = fast.offset == oracle.offset and fast.frames == oracle.frames
    close = abs(fast.lse_d - oracle.lse_d) < 1e-3 and abs(fast.lse_c - oracle.lse_c) < 1e-3
    if not same:
        print("FAIL: fast path and oracle disagree (offset or windows)")
    elif not close:
        print("FAIL: LSE numbers of the fast path and the oracle differ by 1e-3 or more")
    print(f"max |distance difference| fast vs oracle {diff:.2e}, floor vs fast {floor_diff:.2e}; "
          f"oracle/fast {med['authors'] / med['ours']:.2f}x, fast/floor {med['ours'] / med['floor']:.2f}")
    clip_s = fast.video_frames / 25
    vpm = {k: 60 / med[k] for k in med}
    ten_s = abs(clip_s - 10) < 0.5
    rate_ok = ten_s and vpm["ours"] >= VIDEOS_PER_MIN_TARGET
    print(f"throughput: {vpm['ours']:.1f} clips of {clip_s:g} s per minute (fast path, one after another), floor "
          f"{vpm['floor']:.1f}, oracle {vpm['authors']:.1f}; target >= {VIDEOS_PER_MIN_TARGET} clips of 10 s per "
          f"minute on an H100: {('met' if rate_ok else 'not met') if ten_s else 'not judged (the clips are not 10 s)'}")
    scaled = f"; authors (oracle) timed on 1 clip, x{n_videos}" if n_videos > 1 else ""
    settings = (f"{n_videos} clip(s) of {clip_s:g} s ({'given video' if args.video else '256x256 synthetic'}, "
                f"25 fps, whole-frame, {fast.frames} windows), batch {args.batch_size}, {dev}, fp32{scaled}")
    # the GPU target is the rate (issue 17), judged on 10 s clips; elsewhere (and on other clips) ours/floor
    rate_target = dev.startswith("cuda") and ten_s
    target = f"ours >= {VIDEOS_PER_MIN_TARGET} videos of 10 s per minute (H100)" if rate_target else \
        "ours/floor <= 1.25"
    extra = {"videos": n_videos, "clip_seconds": clip_s, "windows_per_clip": fast.frames,
             "videos_per_min": round(vpm["ours"], 2), "videos_per_min_floor": round(vpm["floor"], 2),
             "videos_per_min_authors": round(vpm["authors"], 2), "videos_per_min_target": VIDEOS_PER_MIN_TARGET,
             "videos_per_min_met": rate_ok if ten_s else None,
             "authors_timed_on_clips": 1, "authors_times_scaled_by": n_videos,
             "lse": {"offset": fast.offset, "lse_d": fast.lse_d, "lse_c": fast.lse_c}}
    benchlib.emit("lse", title="LSE-C/LSE-D (syncnet_python protocol, whole-frame)", settings=settings, device=dev,
                  unit="videos", work=n_videos, times={k: [t * n_videos for t in v] for k, v in walls.items()},
                  load_before=load_before, check_ok=same and close, check_detail=(
                      f"offset {fast.offset} and {fast.frames} windows equal; |LSE-D diff| "
                      f"{abs(fast.lse_d - oracle.lse_d):.1e}, |LSE-C diff| {abs(fast.lse_c - oracle.lse_c):.1e} "
                      f"(< 1e-3); max distance diff vs oracle {diff:.1e}, floor vs ours {floor_diff:.1e}"),
                  target=target, target_ratio=None if rate_target else ("ours/floor", 1.25),
                  target_rate=("ours", VIDEOS_PER_MIN_TARGET / 60) if rate_target else None, json_path=args.json,
                  extra=extra)
    return 0 if same and close else 1


def long_run(args) -> int:
    """Peak RSS of the fast path on long tiny-resolution clips, each in a fresh process; with two or more lengths
    the memory record of the longest against the shortest."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(args.weights) if args.weights else make_weights(Path(tmp))
        for minutes in sorted(args.long_minutes):
            video = make_clip(Path(tmp), minutes * 60, size=32)
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
            print(f"{minutes:g} min clip (32x32 source, resized to 224): {frames} windows in {seconds} s, "
                  f"peak RSS {rss} MiB (the ffmpeg subprocesses not included)", flush=True)
            rows.append({"minutes": minutes, "frames": int(frames), "peak_rss_mb": float(rss),
                         "seconds": float(seconds)})
            video.unlink()
    if len(rows) > 1:
        record = benchlib.emit_memory("lse_memory", title="LSE (syncnet.evaluate_video, the fast path)",
                                      settings=f"32x32 synthetic clip with speech, batch {args.batch_size}, "
                                               f"{args.device}", rows=rows, json_path=args.json)
        return 0 if record["target_met"] else 1
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", help="clip with audio (default: a synthetic clip with the kit's sample speech)")
    p.add_argument("--weights", help="syncnet_v2.model (default: a seeded model in that format)")
    p.add_argument("--seconds", type=float, default=4.0, help="length of each generated clip (default 4)")
    p.add_argument("--videos", type=int, default=1,
                   help="clips the fast path and the floor score per timed run, one after another (default 1); the "
                        "oracle is timed on the first only and its time multiplied by this; gives videos/min")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--batch_size", type=int, default=32,
                   help="windows per forward pass of the fast path and the floor (default 32)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are printed (default 3)")
    p.add_argument("--json", metavar="PATH", help="also write the BENCH_RESULT record (benchmarks/benchlib.py) here")
    p.add_argument("--long-minutes", type=float, nargs="+", default=[],
                   help="instead: peak memory of the fast path on a 32x32 clip this many minutes long; two or more "
                        "lengths (e.g. 1 10) write the memory record (--json)")
    args = p.parse_args()
    return long_run(args) if args.long_minutes else compare(args)


if __name__ == "__main__":
    sys.exit(main())
