"""benchmarks/benchlib.py: the result record of ``emit`` (medians, ratios, targets, load flag, the printed
``BENCH_RESULT`` line and ``--json`` file) and the rotating order of ``interleaved``, against values worked out by
hand from hand-made times."""
from __future__ import annotations

import json
import types

import benchlib
import pytest

# ours median 2 (min 1, max 3); authors median 5 (4..6); floor median 1.5 (1.4..1.6)
TIMES = {"ours": [2.0, 1.0, 3.0], "authors": [4.0, 6.0, 5.0], "floor": [1.5, 1.6, 1.4]}
QUIET = [0.1, 0.2, 0.3]


def _emit(**kw):
    args = dict(title="t", settings="s", device="cpu", unit="frames", work=10, times=TIMES, load_before=QUIET,
                check_ok=True, check_detail="fine")
    args.update(kw)
    return benchlib.emit("demo", **args)


@pytest.fixture
def quiet_machine(monkeypatch):
    """A load average of 0.5 after the run and 4 cores, whatever this machine's state."""
    monkeypatch.setattr(benchlib, "load_average", lambda: [0.5, 0.4, 0.3])
    monkeypatch.setattr(benchlib.os, "cpu_count", lambda: 4)


def test_sides_are_median_min_max_of_the_runs(quiet_machine):
    rec = _emit()
    assert rec["sides"] == {
        "ours": {"median_s": 2.0, "min_s": 1.0, "max_s": 3.0, "runs": [2.0, 1.0, 3.0]},
        "authors": {"median_s": 5.0, "min_s": 4.0, "max_s": 6.0, "runs": [4.0, 6.0, 5.0]},
        "floor": {"median_s": 1.5, "min_s": 1.4, "max_s": 1.6, "runs": [1.5, 1.6, 1.4]},
    }


def test_median_is_the_middle_run_not_the_mean(quiet_machine):
    rec = _emit(times={"ours": [1.0, 7.0, 1.0, 2.0, 1.5], "floor": [0.5, 0.5, 3.5]})
    assert rec["sides"]["ours"]["median_s"] == 1.5 and rec["sides"]["floor"]["median_s"] == 0.5
    assert rec["ratios"]["ours/floor"] == pytest.approx(3.0)


def test_a_side_without_runs_is_left_out(quiet_machine):
    rec = _emit(times={**TIMES, "seed": []})
    assert set(rec["sides"]) == {"ours", "authors", "floor"}


def test_ratios_on_medians(quiet_machine):
    rec = _emit()
    assert rec["ratios"].keys() == {"authors/ours", "ours/floor"}
    assert rec["ratios"]["authors/ours"] == pytest.approx(2.5)
    assert rec["ratios"]["ours/floor"] == pytest.approx(2 / 1.5)


def test_the_baseline_is_named_by_its_side(quiet_machine):
    rec = _emit(times={"ours": [2.0], "naive": [8.0]})
    assert rec["ratios"] == {"naive/ours": pytest.approx(4.0)}


def test_no_target_is_not_judged(quiet_machine):
    assert _emit()["target_met"] is None


@pytest.mark.parametrize("bound, met", [(1.25, False), (1.3, False), (2 / 1.5, True), (1.34, True)])
def test_floor_ratio_target_is_met_at_or_below_the_bound(quiet_machine, bound, met):
    # ours/floor = 2 / 1.5 = 1.333...
    assert _emit(target_ratio=("ours/floor", bound))["target_met"] is met


@pytest.mark.parametrize("bound, met", [(2.0, True), (2.5, True), (2.6, False), (10.0, False)])
def test_speed_up_target_is_met_at_or_above_the_bound(quiet_machine, bound, met):
    # authors/ours = 5 / 2 = 2.5
    assert _emit(target_ratio=("authors/ours", bound))["target_met"] is met


def test_a_ratio_target_on_a_missing_ratio_is_not_judged(quiet_machine):
    assert _emit(target_ratio=("seed/ours", 1.0))["target_met"] is None


@pytest.mark.parametrize("work, met", [(200, True), (300, True), (199, False), (50, False)])
def test_rate_target_is_work_per_median_second(quiet_machine, work, met):
    # ours' median is 2 s: 200 units make 100 units/s
    rec = _emit(work=work, target_rate=("ours", 100.0))
    assert rec["target_met"] is met


def test_result_line_and_json_file_hold_the_returned_record(quiet_machine, capsys, tmp_path):
    path = tmp_path / "r.json"
    rec = _emit(target="ours/floor <= 1.25", target_ratio=("ours/floor", 1.25), json_path=path, extra={"k": 1})
    out = capsys.readouterr().out.splitlines()
    results = [line for line in out if line.startswith("BENCH_RESULT ")]
    assert len(results) == 1 and out[-1] == results[0]
    printed = json.loads(results[0][len("BENCH_RESULT "):])
    assert printed == rec
    assert json.loads(path.read_text()) == rec
    assert path.read_text() == results[0][len("BENCH_RESULT "):] + "\n"
    assert "  target: ours/floor <= 1.25: missed" in out
    assert rec["benchmark"] == "demo" and rec["work"] == 10 and rec["unit"] == "frames"
    assert rec["check"] == {"ok": True, "detail": "fine"} and rec["extra"] == {"k": 1}
    assert rec["target"] == "ours/floor <= 1.25" and rec["target_met"] is False


def test_no_json_file_without_a_path(quiet_machine, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _emit()
    assert list(tmp_path.iterdir()) == []


def test_quiet_machine_is_not_loaded(quiet_machine, capsys):
    rec = _emit()
    assert rec["load_before"] == QUIET and rec["load_after"] == [0.5, 0.4, 0.3] and rec["cores"] == 4
    assert rec["loaded"] is False
    assert "warning" not in capsys.readouterr().out


def test_load_above_the_core_count_marks_the_record(capsys):
    import os

    rec = _emit(load_before=[10.0 * (os.cpu_count() or 1) + 1, 1.0, 1.0])
    assert rec["loaded"] is True
    assert "warning: the load average exceeded the core count" in capsys.readouterr().out


@pytest.mark.parametrize("after, loaded", [(5.5, True), (5.0, False), (4.5, False)])
def test_load_after_the_run_counts_too(quiet_machine, monkeypatch, after, loaded):
    """After the run the benchmark's own threads count: loaded only above the core count + 1 (4 cores)."""
    monkeypatch.setattr(benchlib, "load_average", lambda: [after, 1.0, 1.0])      # 4 cores
    assert _emit()["loaded"] is loaded


def test_failed_check_is_recorded(quiet_machine, capsys):
    rec = _emit(check_ok=0, check_detail="values differ")
    assert rec["check"] == {"ok": False, "detail": "values differ"}
    assert "  check: FAIL (values differ)" in capsys.readouterr().out


def test_interleaved_rotates_the_order_each_round(monkeypatch):
    calls, clock = [], {"now": 0.0}
    cost = {"a": 1.0, "b": 10.0, "c": 100.0}
    monkeypatch.setattr(benchlib, "time", types.SimpleNamespace(perf_counter=lambda: clock["now"]))

    def side(name):
        def run():
            calls.append(name)
            clock["now"] += cost[name]
            return f"{name}{calls.count(name)}"
        return run

    times, results = benchlib.interleaved({n: side(n) for n in "abc"}, rounds=4)
    assert calls == list("abc" "bca" "cab" "abc")
    assert times == {"a": [1.0] * 4, "b": [10.0] * 4, "c": [100.0] * 4}
    assert results == {"a": "a4", "b": "b4", "c": "c4"}


def test_interleaved_two_sides_alternate_who_goes_first():
    calls = []
    times, _ = benchlib.interleaved({"x": lambda: calls.append("x"), "y": lambda: calls.append("y")}, rounds=3)
    assert calls == ["x", "y", "y", "x", "x", "y"]
    assert [len(v) for v in times.values()] == [3, 3] and all(t >= 0 for v in times.values() for t in v)
