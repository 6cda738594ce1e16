"""benchmarks/run_all_report.py: the Markdown page of run_all.py — a measured row (rates, ratios, target met or
missed, memory, load), a benchmark that did not run, a loaded row — against rows written out by hand."""
from __future__ import annotations

import pytest
from run_all_report import render, row

META = {"machine": {"date": "2024-05-06 07:08 UTC", "python": "3.11.9", "torch": "2.3.0", "cpus": 2,
                    "cpu": "Test CPU", "load": [0.1, 0.2, 0.3], "commit": "abc1234", "dirty": False},
        "device": "cpu", "quick": False, "rounds": 3}


def measured(name="lawdnet", **changes) -> dict:
    """ours 2 s median (1..3), authors 5 s (4..6), floor 1.5 s (1.4..1.6); 10 frames a run."""
    def side(runs):
        return {"median_s": sorted(runs)[1], "min_s": min(runs), "max_s": max(runs), "runs": runs}
    rec = {"benchmark": name, "title": "A title", "settings": "10 frames", "device": "cpu (x, 2 cores)",
           "unit": "frames", "work": 10,
           "sides": {"ours": side([2.0, 1.0, 3.0]), "authors": side([4.0, 6.0, 5.0]), "floor": side([1.5, 1.6, 1.4])},
           "ratios": {"authors/ours": 2.5, "ours/floor": 2 / 1.5}, "target": "ours/floor <= 1.25",
           "target_met": False, "check": {"ok": True, "detail": "same values"}, "peak_rss_mb": 1234.4,
           "peak_vram_mb": None, "load_before": [0.5, 0.6, 0.7], "load_after": [0.7, 0.6, 0.5], "cores": 2,
           "loaded": False, "extra": {"threads": 2}}
    rec.update(changes)
    return rec


# 10 frames / 2 s = 5/s (10/3 = 3.33 .. 10/1 = 10); authors 10/5 = 2/s (1.67 .. 2.5); floor 6.67/s (6.25 .. 7.14)
EXPECTED = ("| lawdnet | 10 frames | 5 frames/s (3.33–10) | 2 frames/s (1.67–2.5) (authors) | "
            "6.67 frames/s (6.25–7.14) | 2.50 (authors/ours) | 1.33 (ours/floor) | ours/floor <= 1.25 ✘ missed | OK | "
            "1,234 | — | 0.50→0.70 / 2 |")


def test_measured_row():
    assert row(measured()) == EXPECTED


def test_met_target_row():
    assert row(measured(target_met=True)) == EXPECTED.replace("✘ missed", "✔ met")


def test_unjudged_target_row():
    assert row(measured(target_met=None, target="")) == EXPECTED.replace("ours/floor <= 1.25 ✘ missed", "—")


def test_loaded_row_is_marked():
    assert row(measured(loaded=True)) == EXPECTED.replace("0.50→0.70 / 2 |", "0.50→0.70 / 2 ⚠ loaded |")


def test_row_without_work_shows_seconds():
    line = row(measured(work=0))
    assert "| 2 s (1–3) | 5 s (4–6) (authors) | 1.5 s (1.4–1.6) |" in line


def test_failed_check_with_a_measurement():
    line = row(measured(check={"ok": False, "detail": "x"}, error="exit 1 (parity check failed?)"))
    assert "| **FAIL** (exit 1 (parity check failed?)) |" in line
    assert "2.50 (authors/ours)" in line


def test_error_row_says_did_not_run():
    rec = {"benchmark": "lse", "error": "exit 1: RuntimeError: boom"}
    assert row(rec) == "| lse | — | — | — | — | — | — | — | **did not run**: exit 1: RuntimeError: boom | — | — | — |"


@pytest.mark.parametrize("quick", [False, True])
def test_page_holds_machine_table_rows_and_detail(quick):
    error = {"benchmark": "lse", "error": "exit 1: boom", "command": "python bench_lse.py", "wall_s": 3.0}
    page = render({**META, "quick": quick}, [measured(loaded=True), error])
    lines = page.splitlines()
    assert lines[0] == "# Benchmarks on cpu" + (" (quick sizes: not a result)" if quick else "")
    assert "at commit `abc1234`." in page and "Machine: Test CPU, 2 CPUs; Python 3.11.9, torch 2.3.0" in page
    assert "interleaved over 3 rounds" in page
    table = [line for line in lines if line.startswith("| ") and not line.startswith("| benchmark")]
    assert table == [EXPECTED.replace("0.50→0.70 / 2 |", "0.50→0.70 / 2 ⚠ loaded |"),
                     "| lse | — | — | — | — | — | — | — | **did not run**: exit 1: boom | — | — | — |"]
    assert "### lawdnet: A title" in lines and "### lse: " in lines
    assert "- ours: median 2.000 s per run (2.000, 1.000, 3.000)" in lines
    assert "- check: OK: same values" in lines and "- threads: `2`" in lines
    assert "**Error**: exit 1: boom" in lines and "`python bench_lse.py` (3.0 s wall)" in lines
    assert page.endswith("\n") and not page.endswith("\n\n")


def test_merged_page_names_its_runs():
    meta = {**META, "machine": {**META["machine"], "dirty": True, "gpu": "GPU X", "cuda": "12.4"},
            "merged": ["2024-05-06 07:08 UTC (commit abc1234)", "2024-05-07 08:09 UTC (commit def5678)"]}
    page = render(meta, [measured(run_date="2024-05-07 08:09 UTC", command="python bench_lawdnet.py", wall_s=9)])
    assert "(with uncommitted changes)" in page and "; GPU GPU X (CUDA 12.4)" in page
    assert "joined from the runs of 2024-05-06 07:08 UTC (commit abc1234), 2024-05-07 08:09 UTC (commit def5678)" \
        in page
    assert "`python bench_lawdnet.py` (9 s wall, run of 2024-05-07 08:09 UTC)" in page
