"""benchmarks/run_all.py: ``--merge`` keeps each benchmark's latest measurement (a later failure never replaces a
measurement), one real quick run of the cheapest benchmark end to end, and an unknown ``--only`` name refused."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import run_all


def machine(date: str, commit: str) -> dict:
    return {"date": date, "python": "3.11.9", "torch": "2.3.0", "cpus": 2, "cpu": "Test CPU", "load": [0.1, 0.2, 0.3],
            "commit": commit, "dirty": False}


def measured(name: str, ours: float) -> dict:
    """A record as benchlib.emit writes it, ours taking ``ours`` s a run, the floor 1 s."""
    def side(t):
        return {"median_s": t, "min_s": t, "max_s": t, "runs": [t, t, t]}
    return {"benchmark": name, "title": name, "settings": "s", "device": "cpu", "unit": "frames", "work": 10,
            "sides": {"ours": side(ours), "floor": side(1.0)}, "ratios": {"ours/floor": ours}, "target": "",
            "target_met": None, "check": {"ok": True, "detail": "d"}, "peak_rss_mb": 100.0, "peak_vram_mb": None,
            "load_before": [0.1, 0.1, 0.1], "load_after": [0.2, 0.2, 0.2], "cores": 2, "loaded": False, "extra": {}}


def failed(name: str, why: str) -> dict:
    return {"benchmark": name, "error": why}


def write_run(path, date: str, commit: str, records: list) -> str:
    """A results file in the shape run_all._write gives it."""
    run = {"machine": machine(date, commit), "device": "cuda", "quick": False, "rounds": 3, "records": records}
    path.write_text(json.dumps(run, indent=1) + "\n")
    return str(path)


D1, D2 = "2024-05-06 07:08 UTC", "2024-05-07 08:09 UTC"


@pytest.fixture
def merged(tmp_path):
    """Run 1: dagan, lse and ssim measured, evaluate and train failed; run 2: lse failed, ssim and evaluate measured
    again, train failed again, and a benchmark the suite does not know, measured."""
    first = write_run(tmp_path / "a.json", D1, "abc1234",
                      [measured("ssim", 3.0), failed("train", "exit 1: first"), measured("lse", 2.0),
                       measured("dagan", 4.0), failed("evaluate", "exit 1: oom")])
    second = write_run(tmp_path / "b.json", D2, "def5678",
                       [measured("zzz_extra", 9.0), failed("lse", "timeout"), measured("ssim", 5.0),
                        measured("evaluate", 6.0), failed("train", "exit 1: second")])
    out = tmp_path / "out"
    out.mkdir()
    assert run_all.main(["--merge", first, second, "--results_dir", str(out), "--name", "joined"]) == 0
    return json.loads((out / "joined.json").read_text()), (out / "joined.md").read_text()


def test_merge_keeps_the_latest_measurement(merged):
    data, _ = merged
    by_name = {r["benchmark"]: r for r in data["records"]}
    assert set(by_name) == {"dagan", "lse", "ssim", "evaluate", "train", "zzz_extra"}
    # measured only in run 1
    assert by_name["dagan"]["sides"]["ours"]["median_s"] == 4.0 and by_name["dagan"]["run_date"] == D1
    # a later failure does not replace an earlier measurement
    assert "error" not in by_name["lse"] and by_name["lse"]["sides"]["ours"]["median_s"] == 2.0
    assert by_name["lse"]["run_date"] == D1
    # a later measurement replaces an earlier one, and an earlier failure
    assert by_name["ssim"]["sides"]["ours"]["median_s"] == 5.0 and by_name["ssim"]["run_date"] == D2
    assert "error" not in by_name["evaluate"] and by_name["evaluate"]["sides"]["ours"]["median_s"] == 6.0
    assert by_name["evaluate"]["run_date"] == D2
    # failed both times: the latest failure
    assert by_name["train"]["error"] == "exit 1: second" and by_name["train"]["run_date"] == D2


def test_merge_orders_by_the_suite_and_keeps_the_first_machine(merged):
    data, _ = merged
    suite = [b.name for b in run_all.SUITE]
    names = [r["benchmark"] for r in data["records"]]
    assert names == sorted(names[:-1], key=suite.index) + ["zzz_extra"]
    assert names[:3] == ["dagan", "lse", "ssim"]
    assert data["machine"]["commit"] == "abc1234" and data["device"] == "cuda" and data["rounds"] == 3
    assert data["merged"] == [f"{D1} (commit abc1234)", f"{D2} (commit def5678)"]


def test_a_merge_of_merges_keeps_each_rows_run(merged, tmp_path):
    data, _ = merged
    earlier = tmp_path / "joined.json"
    earlier.write_text(json.dumps(data))
    D3 = "2024-05-08 09:10 UTC"
    third = write_run(tmp_path / "c.json", D3, "0a0b0c0", [measured("train", 7.0), failed("ssim", "exit 1")])
    out = tmp_path / "out2"
    out.mkdir()
    assert run_all.main(["--merge", str(earlier), third, "--results_dir", str(out), "--name", "again"]) == 0
    again = json.loads((out / "again.json").read_text())
    runs = {r["benchmark"]: (r["run_date"], r["run_commit"]) for r in again["records"]}
    assert runs["dagan"] == (D1, "abc1234") and runs["lse"] == (D1, "abc1234")     # not the merged file's
    assert runs["ssim"] == (D2, "def5678") and runs["evaluate"] == (D2, "def5678")
    assert runs["train"] == (D3, "0a0b0c0")
    assert again["merged"] == [f"{D1} (commit abc1234)", f"{D2} (commit def5678)", f"{D3} (commit 0a0b0c0)"]


def test_merge_page_has_a_row_per_benchmark(merged):
    _, page = merged
    rows = [line.split(" | ")[0] for line in page.splitlines() if line.startswith("| ")][1:]
    assert rows == ["| dagan", "| lse", "| ssim", "| evaluate", "| train", "| zzz_extra"]
    assert "| train | — | — | — | — | — | — | — | **did not run**: exit 1: second |" in page
    assert "| lse | s | 5 frames/s (5–5) |" in page          # 10 frames / 2 s: run 1's lse, not run 2's timeout


def test_quick_run_of_one_benchmark_end_to_end(tmp_path):
    assert run_all.main(["--quick", "--only", "fid_distance", "--results_dir", str(tmp_path), "--settle", "0"]) == 0
    md, js = tmp_path / "cpu-quick.md", tmp_path / "cpu-quick.json"
    assert md.is_file() and js.is_file()
    assert (tmp_path / "cpu-quick-logs" / "fid_distance.log").is_file()
    data = json.loads(js.read_text())
    assert data["quick"] is True and data["device"] == "cpu" and data["rounds"] == 3
    assert len(data["records"]) == 1
    rec = data["records"][0]
    assert rec["benchmark"] == "fid_distance" and "error" not in rec
    assert set(rec["sides"]) == {"ours", "reference", "floor"}
    assert all(len(s["runs"]) == 3 for s in rec["sides"].values())
    assert rec["check"]["ok"] is True
    assert "--n 600 --dims 256 --rounds 3 --json" in rec["command"] and "--device" not in rec["command"]
    page = md.read_text()
    assert page.startswith("# Benchmarks on cpu (quick sizes: not a result)\n")
    assert sum(line.startswith("| fid_distance | ") for line in page.splitlines()) == 1
    assert "### fid_distance: " in page


def test_unknown_benchmark_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        run_all.main(["--only", "nope"])
    assert exc.value.code == 2
    assert "unknown benchmark(s) ['nope']" in capsys.readouterr().err


def test_settle_waits_for_the_previous_benchmarks_load_to_fall(monkeypatch):
    """Waits while the 1-minute load is at or above 3/4 of the cores, and never past its limit."""
    loads = iter([3.5, 3.1, 2.9, 0.5])                     # 4 cores: 3.0 is the bound
    sleeps = []
    monkeypatch.setattr(run_all.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(run_all.os, "getloadavg", lambda: (next(loads), 0.0, 0.0))
    monkeypatch.setattr(run_all.time, "sleep", sleeps.append)
    run_all.settle(120)
    assert len(sleeps) == 2                                # 3.5 and 3.1 waited for, 2.9 is below the bound

    clock = iter(range(0, 1000, 50))                       # each reading of the clock 50 s later
    monkeypatch.setattr(run_all.os, "getloadavg", lambda: (9.0, 0.0, 0.0))
    monkeypatch.setattr(run_all.time, "monotonic", lambda: next(clock))
    sleeps.clear()
    assert run_all.settle(120) >= 120                      # gave up at the limit, still loaded
    assert len(sleeps) == 2                                # waited at 50 and 100 s; at 150 s the limit is past


def test_a_benchmark_past_its_time_is_stopped_with_what_it_started(tmp_path):
    """run_one kills the benchmark's whole process group: a grandchild (a CLI run, ffmpeg) does not outlive it."""
    import os
    import sys
    import time

    pid_file = tmp_path / "grandchild.pid"
    script = tmp_path / "slow_bench.py"
    script.write_text(
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n")
    bench = run_all.Bench("slow", script.name, [], [])
    record = run_all.run_one(bench, [sys.executable, str(script), "--json", str(tmp_path / "r.json")], 3.0, tmp_path)
    assert record["error"].startswith("exit timeout") and "started" in (tmp_path / "slow.log").read_text()
    pid = int(pid_file.read_text())
    for _ in range(50):                       # the kill is immediate; a zombie left unreaped counts as dead
        try:
            os.kill(pid, 0)
            state = Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0]
        except (ProcessLookupError, FileNotFoundError):
            break
        if state == "Z":
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        raise AssertionError("the benchmark's child outlived the timeout")
