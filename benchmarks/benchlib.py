"""What every benchmark shares: interleaved timing, the machine's state, and one result record.

A benchmark times its sides (``ours``, the authors'/seed code or the naive loop, and ``floor``: the work no
implementation can skip) with :func:`interleaved`, then calls :func:`emit` once. ``emit`` prints a final
``BENCH_RESULT {json}`` line and, given ``--json PATH``, writes the same record there; ``benchmarks/run_all.py``
reads these records and builds the table of ``benchmarks/results/<device>.md``.

The record (a dict, JSON-safe)::

    benchmark, title, settings, device, unit, work (units per run),
    sides: {name: {median_s, min_s, max_s, runs: [...]}}, ratios: {"authors/ours": .., "ours/floor": ..},
    target, target_met, check: {ok, detail}, peak_rss_mb, peak_vram_mb,
    load_before, load_after, cores, loaded, extra: {...}

Ratios are taken on medians. ``loaded`` (:func:`is_loaded`) is true when other work shared the machine: the 1-minute
load average exceeded the core count before the run, or the core count plus one after it (a benchmark's own threads
raise the load to about the core count). Such a ratio is printed with a warning and is not reported as the result.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

PREFIX = "BENCH_RESULT "
#: names of the side a benchmark compares ``ours`` with, in the order one is looked for
BASELINES = ("authors", "seed", "naive", "reference", "one_worker")


def sync_device(device) -> None:
    """Wait for queued GPU work (a no-op on the CPU), so host clocks measure the work itself."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def interleaved(sides: dict[str, Callable[[], Any]], rounds: int, device="cpu") -> tuple[dict, dict]:
    """Run each side once per round, the order rotating each round; ({side: [seconds…]}, {side: last result})."""
    names = list(sides)
    times: dict[str, list[float]] = {k: [] for k in names}
    results: dict[str, Any] = {}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            sync_device(device)
            start = time.perf_counter()
            results[name] = sides[name]()
            sync_device(device)
            times[name].append(time.perf_counter() - start)
    return times, results


def summary(runs: list[float]) -> dict:
    return {"median_s": statistics.median(runs), "min_s": min(runs), "max_s": max(runs), "runs": list(runs)}


@dataclass
class ChildRun:
    """One finished subprocess: wall seconds, wait4's peak RSS in bytes (the larger of the process's own and that of
    any child it waited for), CPU seconds (user + system, its waited-for children included) and its stdout."""

    seconds: float
    peak_rss: int
    cpu_s: float
    stdout: str


def run_child(cmd: list[str], *, cwd, env: Optional[dict] = None) -> ChildRun:
    """Run ``cmd`` to the end and measure it; a non-zero exit is a SystemExit with the command and the end of its
    stderr. The output goes to temporary files, so a talkative child never blocks on a full pipe."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(map(str, cmd))}\n{stderr[-3000:]}")
    return ChildRun(seconds, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, stdout)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_vram_mb(device) -> Optional[float]:
    """Peak GPU memory torch allocated on ``device`` so far, MiB; None off CUDA."""
    import torch

    dev = torch.device(device)
    if dev.type != "cuda" or not torch.cuda.is_available():
        return None
    return torch.cuda.max_memory_allocated(dev) / 2 ** 20


def describe_device(device) -> str:
    """``cpu (AMD EPYC …, 2 cores)`` or ``cuda:0 (NVIDIA H200)``."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return f"{dev} ({torch.cuda.get_device_name(dev)})"
    cpu = platform.processor() or platform.machine()
    return f"cpu ({cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def is_loaded(load_before: list[float], load_after: list[float], cores: int) -> bool:
    """Whether other work shared the machine during a benchmark: the 1-minute load above the core count before it,
    or above the core count plus one after it (the benchmark's own threads count up to about the core count)."""
    return load_before[0] > cores or load_after[0] > cores + 1


def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def emit(benchmark: str, *, title: str, settings: str, device, unit: str, work: float,
         times: dict[str, list[float]], load_before: list[float], check_ok: bool, check_detail: str,
         target: str = "", target_ratio: Optional[tuple[str, float]] = None,
         target_rate: Optional[tuple[str, float]] = None, json_path=None, extra: Optional[dict] = None) -> dict:
    """Print the summary lines and the ``BENCH_RESULT`` record; write it to ``json_path`` if given; return it.

    ``times`` maps a side (``ours``, ``authors`` — or ``naive``/``seed``/``reference``, or ``one_worker`` for a
    scaling benchmark — and ``floor``) to its seconds per run.
    ``target_ratio=("ours/floor", 1.25)`` marks the target met when that ratio is at most the bound; a
    ``"authors/ours"``-style speed-up target is met when the ratio is at least the bound.
    ``target_rate=("ours", 100.0)`` marks it met when that side's ``work / median`` (units per second) is at least
    the bound (e.g. frames per second).
    """
    sides = {name: summary(runs) for name, runs in times.items() if runs}
    med = {name: s["median_s"] for name, s in sides.items()}
    baseline = next((k for k in BASELINES if k in med), None)
    ratios = {}
    if baseline and "ours" in med:
        ratios[f"{baseline}/ours"] = ratio(med[baseline], med["ours"])
    if "floor" in med and "ours" in med:
        ratios["ours/floor"] = ratio(med["ours"], med["floor"])
    target_met = None
    if target_ratio and ratios.get(target_ratio[0]) is not None:
        value, bound = ratios[target_ratio[0]], target_ratio[1]
        target_met = value <= bound if target_ratio[0].endswith("/floor") else value >= bound
    if target_rate and med.get(target_rate[0]):
        target_met = work / med[target_rate[0]] >= target_rate[1]
    load_after = load_average()
    cores = os.cpu_count() or 1
    record = {
        "benchmark": benchmark, "title": title, "settings": settings, "device": describe_device(device),
        "unit": unit, "work": work, "sides": sides, "ratios": ratios, "target": target, "target_met": target_met,
        "check": {"ok": bool(check_ok), "detail": check_detail},
        "peak_rss_mb": round(peak_rss_mb(), 1), "peak_vram_mb": _round(peak_vram_mb(device)),
        "load_before": load_before, "load_after": load_after, "cores": cores,
        "loaded": is_loaded(load_before, load_after, cores), "extra": extra or {},
    }
    for name, s in sides.items():
        rate = f"  {work / s['median_s']:9.2f} {unit}/s" if work and s["median_s"] > 0 else ""
        print(f"  {name:10s} median {s['median_s']:9.3f} s{rate}  (range {s['min_s']:.3f}-{s['max_s']:.3f}, "
              f"{len(s['runs'])} runs)")
    if target:
        print(f"  target: {target}: " + {True: "met", False: "missed", None: "not judged"}[target_met])
    if ratios:
        print("  ratios: " + ", ".join(f"{k} {v:.3f}" for k, v in ratios.items() if v is not None))
    print(f"  check: {'OK' if check_ok else 'FAIL'} ({check_detail}); load {load_before} -> {load_after} on "
          f"{cores} cores; peak RSS {record['peak_rss_mb']:.0f} MiB"
          + (f", peak VRAM {record['peak_vram_mb']:.0f} MiB" if record["peak_vram_mb"] is not None else ""))
    if record["loaded"]:
        print("  warning: the load average exceeded the core count (other work shared the machine): these ratios "
              "are not a result")
    line = json.dumps(record, default=float)
    print(PREFIX + line, flush=True)
    if json_path:
        Path(json_path).write_text(line + "\n")
    return record


def emit_memory(benchmark: str, *, title: str, settings: str, rows: list[dict], bound: float = 1.1,
                json_path=None, extra: Optional[dict] = None) -> dict:
    """The record of a memory benchmark: peak RSS of one streaming stage at several input lengths.

    ``rows``: ``{"minutes", "frames", "peak_rss_mb", "seconds"}`` per length, shortest first. The target is the
    issue's: the longest run's peak RSS at most ``bound`` times the shortest's (memory flat in the input length).
    Prints the ``BENCH_RESULT`` line (``"kind": "memory"``) and writes ``json_path`` if given.
    """
    ratio = rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
    met = ratio <= bound
    target = f"peak RSS {rows[-1]['minutes']:g} min <= {bound:g}x {rows[0]['minutes']:g} min"
    record = {"kind": "memory", "benchmark": benchmark, "title": title, "settings": settings, "rows": rows,
              "ratio": ratio, "target": target,
              "target_met": met, "check": {"ok": met, "detail": f"ratio {ratio:.3f} (<= {bound:g})"},
              "load_before": [], "load_after": load_average(), "cores": os.cpu_count() or 1, "extra": extra or {}}
    for row in rows:
        print(f"  {row['minutes']:g} min: {row['frames']} frames, peak RSS {row['peak_rss_mb']:.0f} MiB, "
              f"{row['seconds']:.0f} s")
    print(f"  peak RSS ratio {rows[-1]['minutes']:g} / {rows[0]['minutes']:g} min: {ratio:.3f} (<= {bound:g}): "
          + ("met" if met else "MISSED"))
    line = json.dumps(record, default=float)
    print(PREFIX + line, flush=True)
    if json_path:
        Path(json_path).write_text(line + "\n")
    return record


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)
