"""Preprocessing speed and memory: `python -m dagan.preprocess` at 1 and 2 workers, and peak RSS vs video length.

    python benchmarks/bench_preprocess.py                     # 8 videos of 4 s at 25 fps, 1 vs 2 workers, 3 rounds
    python benchmarks/bench_preprocess.py --memory            # one 1-min vs one 10-min video: peak RSS
    python benchmarks/bench_preprocess.py --command lawdnet   # the same for python -m lawdnet.preprocess
    python benchmarks/bench_preprocess.py --seconds 30 --json r.json   # run_all's row: longer videos, a record

Inputs are the kit's sample talking head (talkingface.sample: skimage's astronaut with head motion and a mouth
following the sample speech) rendered at 320x320 with the speech as audio, so the offline landmark backend finds a
face in every frame. Each run is a fresh subprocess of the real CLI on a fresh output folder; the runs alternate
(1 worker then 2 in even rounds, 2 then 1 in odd ones) and medians are printed with the load average; the two
worker counts must write the same files. Short videos underrate the scaling: each worker loads its models once,
a large part of a 4-second video's time. Peak RSS is wait4's: the largest of
the process and the children it waited for (workers, ffmpeg).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COMMANDS = {
    "dagan": ["-m", "dagan.preprocess", "--landmarks", "offline", "--no_progress", "--min_frames", "25"],
    "lawdnet": ["-m", "lawdnet.preprocess", "--landmarks", "offline", "--no_progress", "--random_model", "0",
                "--features", "dp2", "--extract_video_frame", "--extract_audio", "--extract_deep_speech",
                "--crop_face", "--generate_training_json"],
}


def make_video(path: Path, seconds: float, identity: int) -> Path:
    """The sample head (320x320, 25 fps) for ``seconds`` with the sample speech looped as its audio."""
    import cv2
    from skimage.data import astronaut

    from talkingface import sample
    from talkingface.media import VideoWriter, ffmpeg_exe

    speech = path.with_suffix(".wav")
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-stream_loop", "-1", "-i",
                    str(sample.SPEECH_WAV), "-t", f"{seconds:.3f}", str(speech)], check=True)
    samples, rate = sample._read_speech()
    frames = round(seconds * 25)
    openness = sample.mouth_openness(samples, rate, min(frames, len(samples) * 25 // rate))
    photo = astronaut()
    with VideoWriter(path, 25, audio=speech) as writer:
        for i in range(frames):
            frame = sample.render_frame(photo, (i + 7 * identity) / 25, sample.Motion(), openness[i % len(openness)])
            writer.write(cv2.resize(frame, (320, 320), interpolation=cv2.INTER_AREA))
    speech.unlink()
    return path


def run(cmd: list[str]) -> tuple[float, int, float]:
    """(seconds, peak RSS bytes, CPU seconds (user + system, its waited-for children included)) of one subprocess."""
    import benchlib

    child = benchlib.run_child([sys.executable, *cmd], cwd=REPO)
    return child.seconds, child.peak_rss, child.cpu_s


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def speed(args, work: Path) -> int:
    # the load before this benchmark: making the inputs below keeps 2 cores busy for a minute, which the 1-minute
    # load average would report as other work sharing the machine
    loads, load_before = [load()], list(os.getloadavg())
    raw = work / "raw"
    for i in range(args.videos):
        (raw / f"id{i % 4}").mkdir(parents=True, exist_ok=True)
        make_video(raw / f"id{i % 4}" / f"v{i}.mp4", args.seconds, i)
    frames = args.videos * round(args.seconds * 25)
    times: dict[int, list[float]] = {1: [], 2: []}
    cpu: dict[int, list[float]] = {1: [], 2: []}
    outputs: dict[int, set[str]] = {}
    loads.append(load())
    for r in range(args.rounds):
        for workers in (1, 2) if r % 2 == 0 else (2, 1):
            out = work / f"out_{workers}_{r}"
            t, _, used = run([*COMMANDS[args.command], "--input_dir", str(raw), "--output_dir", str(out),
                              "--workers", str(workers)])
            times[workers].append(t)
            cpu[workers].append(used)
            outputs.setdefault(workers, produced(out))
            shutil.rmtree(out, ignore_errors=True)
        loads.append(load())
    print(f"{args.command}.preprocess: {args.videos} videos x {args.seconds:g} s (320x320, 25 fps) = {frames} frames; "
          f"{args.rounds} rounds interleaved; {os.cpu_count()} cores")
    print(f"load average (1/5/15 min) before making the inputs, then before and after each round: "
          f"{', '.join(loads)}")
    med = {w: statistics.median(t) for w, t in times.items()}
    for w, t in times.items():
        runs = ", ".join(f"{x:.2f}" for x in t)
        print(f"{w} worker{'s' if w > 1 else ' '}: median {med[w]:7.2f} s  {args.videos / med[w] * 60:6.1f} "
              f"videos/min  {frames / med[w]:6.1f} frames/s  (runs {runs})")
    speedup = med[1] / med[2]
    busy = {w: statistics.median(cpu[w]) / med[w] for w in cpu}
    per_frame = {w: statistics.median(cpu[w]) / frames * 1000 for w in cpu}
    print(f"CPU: 1 worker keeps {busy[1]:.2f} cores busy, 2 workers {busy[2]:.2f}; CPU time per frame "
          f"{per_frame[1]:.1f} ms vs {per_frame[2]:.1f} ms (equal = no cost of parallelism)")
    ceiling = (os.cpu_count() or 1) / busy[1]
    print(f"2 workers / 1 worker: {speedup:.2f}x (target >= 1.8; the ceiling on {os.cpu_count()} cores is "
          f"{ceiling:.2f}x)")
    same = outputs[1] == outputs[2]
    if args.json:
        import benchlib

        benchlib.emit(f"preprocess_{args.command}", title=f"python -m {args.command}.preprocess, 2 workers vs 1",
                      settings=f"{args.videos} videos x {args.seconds:g} s, 320x320 25 fps, offline landmarks; "
                               "ours = --workers 2, one_worker = --workers 1", device="cpu", unit="frames",
                      work=frames, times={"ours": times[2], "one_worker": times[1]}, load_before=load_before,
                      check_ok=same, check_detail=f"both wrote the same {len(outputs[1])} files" if same else
                      f"the outputs differ: {sorted(outputs[1] ^ outputs[2])[:5]}",
                      target="one_worker/ours >= 1.8", target_ratio=("one_worker/ours", 1.8), json_path=args.json,
                      extra={"cores_busy_1_worker": round(busy[1], 2), "cores_busy_2_workers": round(busy[2], 2),
                             "cpu_ms_per_frame": {w: round(v, 1) for w, v in per_frame.items()},
                             "ceiling_on_this_machine": round(ceiling, 2)})
    return 0 if same else 1


def produced(out: Path) -> set[str]:
    """The files a run wrote (paths under ``out``), its reports and the runner's bookkeeping left out."""
    return {p.relative_to(out).as_posix() for p in out.rglob("*")
            if p.is_file() and not p.name.startswith("preprocess_report") and ".prep" not in p.parts}


def memory(args, work: Path) -> int:
    peaks, rows = [], []
    for minutes in args.minutes:
        raw = work / f"raw_{minutes:g}"
        (raw / "id0").mkdir(parents=True)
        make_video(raw / "id0" / "long.mp4", minutes * 60, 0)
        before = load()
        out = work / f"out_{minutes:g}"
        t, peak, _ = run([*COMMANDS[args.command], "--input_dir", str(raw), "--output_dir", str(out), "--workers", "1"])
        peaks.append(peak)
        rows.append({"minutes": minutes, "frames": round(minutes * 60 * 25), "peak_rss_mb": round(peak / 2**20, 1),
                     "seconds": round(t, 1)})
        print(f"{minutes:g} min video: {t:.0f} s, peak RSS {peak / 2**20:.0f} MiB (load {before} -> {load()})")
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(raw, ignore_errors=True)
    ratio = peaks[-1] / peaks[0]
    print(f"peak RSS {args.minutes[-1]:g} min / {args.minutes[0]:g} min: {ratio:.3f}x (target <= 1.1)")
    if args.json:
        import benchlib

        steps = "every step, dp2 of the random network" if args.command == "lawdnet" else "crops, clips"
        benchlib.emit_memory(f"preprocess_{args.command}_memory", title=f"python -m {args.command}.preprocess",
                             settings=f"one 320x320 25 fps talking-head video with speech, 1 worker, offline "
                                      f"landmarks, {steps}", rows=rows, json_path=args.json)
    return 0 if ratio <= 1.1 else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--command", choices=sorted(COMMANDS), default="dagan", help="which preprocess (default dagan)")
    p.add_argument("--videos", type=int, default=8, help="speed: number of videos (default 8)")
    p.add_argument("--seconds", type=float, default=4.0, help="speed: length of each video (default 4 s)")
    p.add_argument("--rounds", type=int, default=3, help="speed: interleaved rounds, medians reported (default 3)")
    p.add_argument("--memory", action="store_true", help="peak RSS for --minutes long videos instead of speed")
    p.add_argument("--minutes", type=float, nargs=2, default=[1.0, 10.0], help="memory: the two lengths")
    p.add_argument("--json", help="write the record (benchmarks/benchlib.py) here: the speed-up, or with --memory the "
                                  "memory rows")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-preprocess-"))
    try:
        return memory(args, work) if args.memory else speed(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
