"""Every speed benchmark in one command, and one table: ours, the authors'/seed code, the floor, ratios, memory.

    python benchmarks/run_all.py                         # CPU suite -> benchmarks/results/cpu.md (+ cpu.json)
    python benchmarks/run_all.py --device cuda           # GPU suite (H100/H200 sizes) -> benchmarks/results/cuda.md
    python benchmarks/run_all.py --quick --only dagan,lse   # tiny sizes, two benchmarks (a check that they run)

Each benchmark runs as its own process (``python benchmarks/<script> … --json FILE``), one after another, so that
one never measures under another's load; each ends with the record of benchmarks/benchlib.py (sides' medians and
ranges over interleaved rounds, ratios, target, parity check, peak RSS/VRAM, load average before and after). A
benchmark that fails or runs past ``--timeout`` is listed with its reason and the rest go on. The Markdown file
holds the machine, the commit, the table and each benchmark's detail; the JSON file the raw records.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import benchlib  # noqa: E402
from run_all_report import render  # noqa: E402


@dataclass
class Bench:
    """One suite entry: a script and its arguments per device, full and quick."""

    name: str
    script: str
    cpu: list[str]
    cuda: list[str]
    quick: list[str] = field(default_factory=list)
    timeout: float = 900.0
    device_flag: bool = True          # takes --device
    rounds: bool = True               # takes --rounds (a timing benchmark; memory benchmarks measure once per length)


SUITE = [
    Bench("dagan", "bench_dagan.py", ["--frames", "16", "--batch_sizes", "1", "2", "4"],
          ["--fp16", "--frames", "256", "--batch_size", "32", "--batch_sizes", "16", "32", "64"],
          ["--tiny", "--frames", "4"]),
    Bench("lse", "bench_lse.py", ["--seconds", "4"], ["--videos", "8", "--seconds", "10"], ["--seconds", "2"]),
    Bench("ssim", "bench_ssim.py", [], ["--images", "256"], ["--images", "4"]),
    Bench("evaluate", "bench_evaluate.py", ["--pairs", "6", "--frames", "25", "--metrics", "niqe,psnr,ssim,fid,lpips"],
          ["--pairs", "400", "--frames", "25", "--metrics", "niqe,psnr,ssim,fid,lpips", "--naive_pairs", "4",
           "--batch_size", "64"],
          ["--pairs", "2", "--frames", "4", "--metrics", "niqe,psnr,ssim,fid,lpips"]),
    Bench("lawdnet", "bench_lawdnet.py", [], ["--frames", "64", "--batch_size", "16", "--template_frames", "64"],
          ["--mouthsize", "64", "--frames", "4", "--template_frames", "10"]),
    Bench("dagan_variants", "bench_dagan_variants.py", ["--frames", "8", "--batch_size", "4",
                                                        "--variants", "fp32,fp32-cl,bf16"],
          ["--frames", "128", "--batch_size", "32", "--compile", "fp16", "--batch_sizes", "16", "32", "64"],
          ["--frames", "2", "--batch_size", "2", "--variants", "fp32,fp32-cl"]),
    Bench("train", "bench_train.py", ["--steps", "2"], ["--precision", "bf16", "--steps", "5"],
          ["--tiny", "--steps", "1", "--warmup", "0"]),
    Bench("fid_distance", "bench_fid_distance.py", [], [], ["--n", "600", "--dims", "256"], device_flag=False),
    # CPU work at any --device: on the GPU machines it measures the worker scaling on their 16 cores
    Bench("preprocess_dagan", "bench_preprocess.py", ["--command", "dagan", "--seconds", "30"],     # ~10 min
          ["--command", "dagan", "--seconds", "30"], ["--command", "dagan", "--videos", "2", "--seconds", "2"],
          timeout=1800, device_flag=False),
]
# peak RSS of each streaming stage at 1 and 10 minutes of input (run_all.py --memory): must stay flat (<= 1.1x)
MEMORY_SUITE = [
    Bench("media_memory", "bench_media_memory.py", ["--seconds", "60", "600"], ["--seconds", "60", "600"],
          ["--seconds", "4", "12"], device_flag=False, rounds=False),
    Bench("dagan_memory", "bench_dagan_memory.py", ["--fps", "1"], ["--fps", "10"],      # CPU: ~1.6 frames/s
          ["--minutes", "0.05,0.15", "--fps", "5"], timeout=1800, device_flag=False, rounds=False),
    Bench("lawdnet_memory", "bench_lawdnet_memory.py", [], [], ["--minutes", "0.05", "0.15", "--mouthsize", "64"],
          device_flag=False, rounds=False),
    Bench("lse_memory", "bench_lse.py", ["--long-minutes", "1", "10"], ["--long-minutes", "1", "10"],
          ["--long-minutes", "0.05", "0.15"], rounds=False),
    Bench("evaluate_memory", "bench_evaluate_memory.py", ["--fps", "5"], ["--fps", "25"],       # CPU: ~7 min
          ["--minutes", "0.1", "0.3"], timeout=1800, rounds=False),
    Bench("preprocess_lawdnet_memory", "bench_preprocess.py", ["--command", "lawdnet", "--memory"],     # ~15 min
          ["--command", "lawdnet", "--memory"], ["--command", "lawdnet", "--memory", "--minutes", "0.05", "0.15"],
          timeout=2400, device_flag=False, rounds=False),
    Bench("preprocess_dagan_memory", "bench_preprocess.py", ["--command", "dagan", "--memory"],
          ["--command", "dagan", "--memory"], ["--command", "dagan", "--memory", "--minutes", "0.05", "0.15"],
          timeout=2400, device_flag=False, rounds=False),
]


def command(bench: Bench, device: str, quick: bool, rounds: int, json_path: Path, extra: dict) -> list[str]:
    args = bench.quick if quick else (bench.cuda if device.startswith("cuda") else bench.cpu)
    cmd = [sys.executable, str(HERE / bench.script), *args, *(["--rounds", str(rounds)] if bench.rounds else []),
           "--json", str(json_path)]
    if bench.device_flag:
        cmd += ["--device", device]
    return cmd + extra.get(bench.name, [])


def run_one(bench: Bench, cmd: list[str], timeout: float, log_dir: Path) -> dict:
    """Run one benchmark; its record, or an error record with the reason and the tail of its output."""
    json_path = Path(cmd[cmd.index("--json") + 1])
    start = time.perf_counter()
    # its own process group: a benchmark past its time is stopped with everything it started (CLI runs, ffmpeg)
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        output, status = (output or "") + f"\n[killed after {timeout:.0f} s]", "timeout"
    seconds = time.perf_counter() - start
    (log_dir / f"{bench.name}.log").write_text(" ".join(cmd) + "\n\n" + output)
    record = json.loads(json_path.read_text()) if json_path.is_file() else None
    if record is None:
        last = [line for line in output.strip().splitlines() if line.strip()][-1:] or ["no output"]
        record = {"benchmark": bench.name, "error": f"exit {status}: {last[0][:300]}"}
    elif status != 0:
        record["error"] = f"exit {status} (parity check failed?)"
    record.update(command=" ".join(Path(c).name if c == sys.executable else c for c in cmd),
                  wall_s=round(seconds, 1), output_tail=output.strip().splitlines()[-25:])
    return record


def settle(limit_s: float = 120.0) -> float:
    """Wait (at most ``limit_s``) for the 1-minute load average to fall below 3/4 of the core count, so that the
    previous benchmark's own load does not count as the next one's "load before"; the seconds waited."""
    start, cores = time.monotonic(), os.cpu_count() or 1
    while os.getloadavg()[0] >= 0.75 * cores and time.monotonic() - start < limit_s:
        time.sleep(2)
    return time.monotonic() - start


def machine(device: str) -> dict:
    import torch

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info = {"date": now, "python": platform.python_version(),
            "torch": torch.__version__, "cpus": os.cpu_count(), "cpu": _cpu_model(), "load": benchlib.load_average(),
            "commit": _git("rev-parse", "--short", "HEAD"), "dirty": bool(_git("status", "--porcelain"))}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda (or cuda:N): which suite and where (default cpu)")
    p.add_argument("--only", help="comma list of benchmarks to run (default all: " + ", ".join(b.name for b in SUITE)
                   + ")")
    p.add_argument("--memory", action="store_true",
                   help="the memory suite instead: peak RSS of each streaming stage at 1 and 10 minutes of input ("
                        + ", ".join(b.name for b in MEMORY_SUITE) + "); results in <device>-memory.md")
    p.add_argument("--skip", default="", help="comma list of benchmarks to leave out")
    p.add_argument("--quick", action="store_true", help="tiny sizes: checks that every benchmark runs, not a result")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds per benchmark (>= 3 for a result)")
    p.add_argument("--timeout", type=float, help="seconds per benchmark before it is stopped (default: its own)")
    p.add_argument("--settle", type=float, default=120.0,
                   help="before each benchmark, wait up to this many seconds for the load average to fall below 3/4 "
                        "of the core count (the previous one's threads; default 120, 0: do not wait)")
    p.add_argument("--deadline", type=float,
                   help="seconds for the whole suite: a benchmark gets at most the time left, and none starts with "
                        "less than a minute left (they are listed as skipped)")
    p.add_argument("--results_dir", default=str(HERE / "results"),
                   help="where <device>.md and <device>.json go (default benchmarks/results)")
    p.add_argument("--name", help="file stem of the results (default: the device type, e.g. cpu or cuda)")
    p.add_argument("--logs", help="folder for each benchmark's full output (default: <results_dir>/<name>-logs)")
    p.add_argument("--dagan_repo", help="authors' DaGAN checkout for bench_train (its default path otherwise)")
    p.add_argument("--lawdnet_repo", help="authors' LawDNet checkout: bench_lawdnet also times their generator")
    p.add_argument("--landmarks_csv", help="bench_lawdnet's --landmarks_csv (an OpenCV without Haar cascades)")
    p.add_argument("--merge", nargs="+", metavar="JSON",
                   help="instead of running: join the records of earlier result files (a later file's record of a "
                        "benchmark replaces an earlier one) into <name>.md/.json")
    args = p.parse_args(argv)
    chosen = MEMORY_SUITE if args.memory else SUITE
    wanted = set(args.only.split(",")) if args.only else {b.name for b in chosen}
    unknown = wanted - {b.name for b in chosen}
    if unknown:
        p.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {[b.name for b in chosen]}")
    suite = [b for b in chosen if b.name in wanted and b.name not in args.skip.split(",")]
    extra = {"train": ["--dagan_repo", args.dagan_repo] if args.dagan_repo else [],
             "lawdnet": (["--lawdnet_repo", args.lawdnet_repo] if args.lawdnet_repo else [])
             + (["--landmarks_csv", args.landmarks_csv] if args.landmarks_csv else [])}
    out_dir = Path(args.results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = ("-memory" if args.memory else "") + ("-quick" if args.quick else "")
    stem = args.name or args.device.split(":")[0] + suffix
    if args.merge:
        return merge([Path(f) for f in args.merge], out_dir, stem)
    info = machine(args.device)
    records = []
    with tempfile.TemporaryDirectory(prefix="run_all_") as tmp:
        log_dir = Path(args.logs) if args.logs else out_dir / f"{stem}-logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        for bench in suite:
            cmd = command(bench, args.device, args.quick, args.rounds, Path(tmp) / f"{bench.name}.json", extra)
            timeout = args.timeout or bench.timeout
            if args.deadline:
                left = args.deadline - (time.monotonic() - start)
                if left < 60:
                    records.append({"benchmark": bench.name,
                                    "error": f"skipped: {max(left, 0):.0f} s of --deadline left"})
                    _write(out_dir, stem, info, records, args)
                    continue
                timeout = min(timeout, left)
            print(f"== {bench.name}: {' '.join(cmd[1:])}", flush=True)
            settle(args.settle)
            record = run_one(bench, cmd, timeout, log_dir)
            records.append(record)
            print("\n".join(record["output_tail"][-8:]) if "error" in record else _one_line(record), flush=True)
            _write(out_dir, stem, info, records, args)
    print(f"wrote {out_dir / (stem + '.md')} and {out_dir / (stem + '.json')}")
    return 0 if all("error" not in r for r in records) else 1


def _measured_in(run: dict, record: dict) -> tuple[str, str | None]:
    """(date, commit) of the run that measured ``record``: the file's own, or, when the file is itself a merge, the
    run its record names (a merge of merges keeps every row's origin)."""
    date = record.get("run_date") or run["machine"]["date"]
    if record.get("run_commit"):
        return date, record["run_commit"]
    for label in run.get("merged") or []:                 # merges written before rows carried their commit
        if label.startswith(f"{date} (commit "):
            return date, label[len(date) + len(" (commit "):-1]
    return date, run["machine"].get("commit")


def merge(files: list[Path], out_dir: Path, stem: str) -> int:
    """One page from several runs' JSON files: the first file's machine, each benchmark's latest record."""
    runs = [json.loads(f.read_text()) for f in files]
    by_name: dict[str, dict] = {}
    for run in runs:
        for record in run["records"]:
            earlier = by_name.get(record["benchmark"], {})
            if "sides" in record or "sides" not in earlier:       # a measurement is never replaced by a failure
                date, commit = _measured_in(run, record)
                by_name[record["benchmark"]] = {**record, "run_date": date, "run_commit": commit}
    meta = {key: runs[0][key] for key in ("machine", "device", "quick", "rounds")}
    used = sorted({(r["run_date"], r["run_commit"]) for r in by_name.values()}, key=lambda u: (u[0], u[1] or ""))
    meta["merged"] = [f"{date} (commit {commit})" for date, commit in used]
    order = [b.name for b in SUITE + MEMORY_SUITE]
    records = sorted(by_name.values(), key=lambda r: order.index(r["benchmark"]) if r["benchmark"] in order else 99)
    (out_dir / f"{stem}.json").write_text(json.dumps({**meta, "records": records}, indent=1, default=float) + "\n")
    (out_dir / f"{stem}.md").write_text(render(meta, records))
    print(f"merged {len(files)} runs into {out_dir / (stem + '.md')}")
    return 0


def _one_line(record: dict) -> str:
    if record.get("kind") == "memory":
        return f"   {record['benchmark']}: {record['check']['detail']}; {record['wall_s']} s"
    ratios = ", ".join(f"{k} {v:.2f}" for k, v in record.get("ratios", {}).items() if v is not None)
    check = "OK" if record["check"]["ok"] else "FAIL"
    return f"   {record['benchmark']}: {ratios}; check {check}; {record['wall_s']} s"


def _write(out_dir: Path, stem: str, info: dict, records: list, args) -> None:
    """Rewritten after every benchmark, so a run cut short still leaves its table."""
    meta = {"machine": info, "device": args.device, "quick": args.quick, "rounds": args.rounds}
    (out_dir / f"{stem}.json").write_text(json.dumps({**meta, "records": records}, indent=1, default=float) + "\n")
    (out_dir / f"{stem}.md").write_text(render(meta, records))


if __name__ == "__main__":
    sys.exit(main())
