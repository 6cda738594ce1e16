"""The Markdown page of benchmarks/run_all.py: the machine, one table row per benchmark, then each one's detail."""
from __future__ import annotations

from benchlib import BASELINES


def _rate(record: dict, side: str) -> str:
    s = record.get("sides", {}).get(side)
    if not s:
        return "—"
    work, unit = record.get("work") or 0, record.get("unit", "")
    if work:
        fast, slow = work / s["min_s"], work / s["max_s"]
        return f"{work / s['median_s']:.3g} {unit}/s ({slow:.3g}–{fast:.3g})"
    return f"{s['median_s']:.3g} s ({s['min_s']:.3g}–{s['max_s']:.3g})"


def _ratio(record: dict, key_end: str) -> str:
    for key, value in record.get("ratios", {}).items():
        if key.endswith(key_end) and value is not None:
            return f"{value:.2f} ({key})"
    return "—"


def _baseline(record: dict) -> str:
    return next((k for k in BASELINES if k in record.get("sides", {})), "")


def _mem(value) -> str:
    return "—" if value is None else f"{value:,.0f}"


def row(record: dict) -> str:
    name = record["benchmark"]
    if "error" in record and "sides" not in record:
        return f"| {name} | — | — | — | — | — | — | — | **did not run**: {record['error']} | — | — | — |"
    base = _baseline(record)
    target = record.get("target") or "—"
    met = {True: " ✔ met", False: " ✘ missed", None: ""}[record.get("target_met")]
    check = ("OK" if record["check"]["ok"] else "**FAIL**") + (f" ({record['error']})" if "error" in record else "")
    load = f"{record['load_before'][0]:.2f}→{record['load_after'][0]:.2f} / {record['cores']}"
    if record.get("loaded"):
        load += " ⚠ loaded"
    return (f"| {name} | {record.get('settings', '')} | {_rate(record, 'ours')} | "
            f"{_rate(record, base) if base else '—'}{f' ({base})' if base else ''} | {_rate(record, 'floor')} | "
            f"{_ratio(record, '/ours')} | {_ratio(record, '/floor')} | {target}{met} | {check} | "
            f"{_mem(record.get('peak_rss_mb'))} | {_mem(record.get('peak_vram_mb'))} | {load} |")


def memory_row(record: dict) -> str:
    name = record["benchmark"]
    if "rows" not in record:
        return f"| {name} | — | — | — | — | **did not run**: {record.get('error', '?')} |"
    runs = "; ".join(f"{r['minutes']:g} min: {r['frames']} frames, {r['peak_rss_mb']:,.0f} MiB, {r['seconds']:.0f} s"
                     for r in record["rows"])
    met = "✔ met" if record["target_met"] else "✘ missed"
    return (f"| {name} | {record.get('settings', '')} | {runs} | {record['ratio']:.3f} | {record['target']} {met} | "
            f"{'OK' if record['check']['ok'] else '**FAIL**'} |")


def detail(record: dict) -> list[str]:
    lines = [f"### {record['benchmark']}: {record.get('title', '')}", ""]
    if record.get("command"):
        when = f", run of {record['run_date']}" if record.get("run_date") else ""
        lines += [f"`{record['command']}` ({record.get('wall_s', '?')} s wall{when})", ""]
    if "error" in record:
        lines += [f"**Error**: {record['error']}", ""]
    for side, s in record.get("sides", {}).items():
        runs = ", ".join(f"{t:.3f}" for t in s["runs"])
        lines.append(f"- {side}: median {s['median_s']:.3f} s per run ({runs})")
    if record.get("check"):
        lines.append(f"- check: {'OK' if record['check']['ok'] else 'FAIL'}: {record['check']['detail']}")
    if record.get("device"):
        lines.append(f"- device: {record['device']}")
    for key, value in (record.get("extra") or {}).items():
        lines.append(f"- {key}: `{_short(value)}`")
    tail = record.get("output_tail") or []
    if tail:
        lines += ["", "<details><summary>output (last lines)</summary>", "", "```",
                  *[t for t in tail if not t.startswith("BENCH_RESULT")], "```", "</details>"]
    return lines + [""]


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 400 else text[:400] + " …"


def render(meta: dict, records: list) -> str:
    info = meta["machine"]
    gpu = f"; GPU {info['gpu']} (CUDA {info.get('cuda')})" if info.get("gpu") else ""
    dirty = " (with uncommitted changes)" if info.get("dirty") else ""
    lines = [
        f"# Benchmarks on {meta['device']}{' (quick sizes: not a result)' if meta.get('quick') else ''}", "",
        f"Made by `python benchmarks/run_all.py --device {meta['device']}` on {info['date']} at commit "
        f"`{info.get('commit') or '?'}`{dirty}"
        + (f"; joined from the runs of {', '.join(meta['merged'])} (each row names its run)" if meta.get("merged")
           else "") + ".", "",
        f"Machine: {info['cpu']}, {info['cpus']} CPUs{gpu}; Python {info['python']}, torch {info['torch']}; "
        f"load average at start {info['load']}.", "",
        "Each benchmark runs alone in its own process; its sides run interleaved over "
        f"{meta['rounds']} rounds (the order rotating). Rates are medians, with the range over rounds in brackets. "
        "Ratios are taken on median times: `authors/ours` (or `naive/ours`, `seed/ours`) above 1 means ours is "
        "faster; `ours/floor` is how far ours is from the work no implementation can skip. A row whose load "
        "average exceeded the core count is marked and is not a result. Peak memory is the benchmark process's "
        "(RSS of the CPU side; VRAM allocated by torch).", "",
    ]
    memory = [r for r in records if r.get("kind") == "memory" or r["benchmark"].endswith("_memory")]
    timing = [r for r in records if r not in memory]
    if timing:
        lines += ["| benchmark | settings | ours | authors / seed / naive | floor | speed-up vs baseline | "
                  "ours / floor | target | check | peak RSS MiB | peak VRAM MiB | load (before→after / cores) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|", *[row(r) for r in timing], ""]
    if memory:
        lines += ["Memory: the peak RSS of each streaming stage (its whole process, from wait4 or getrusage) at two "
                  "input lengths, each in a fresh process; flat means the longer run's peak is at most 1.1x the "
                  "shorter's.", "",
                  "| stage | settings | runs (length: frames, peak RSS, seconds) | ratio long / short | target | "
                  "check |", "|---|---|---|---|---|---|", *[memory_row(r) for r in memory], ""]
    lines += ["## Detail", ""]
    for record in records:
        lines += detail(record)
    return "\n".join(lines).rstrip() + "\n"
