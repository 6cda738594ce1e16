"""Every CLI fed the bad inputs of the corpus (README.md): one line, the right exit code, no traceback, no partial
file, no input modified — in-process for every case, in a real process for some, on a read-only mount for others."""
from __future__ import annotations

import collections
import concurrent.futures
from pathlib import Path

import pytest
from _corpus import (
    COMMANDS,
    case_env,
    check_files,
    check_outcome,
    inject_readonly,
    readonly_prefix,
    run_in_process,
    run_process,
)
from _corpus_table import BY_ID, CASES, readme
from _corpus_workspace import Workspace, snapshot

HERE = Path(__file__).resolve().parent
PREFIX = readonly_prefix()


def _params(cases):
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.xfail, strict=True)] if c.xfail else [])
            for c in cases]


@pytest.mark.parametrize("case", _params([c for c in CASES if not c.readonly or PREFIX is None]))
def test_bad_input_in_process(case, workspace, capsys, monkeypatch):
    argv, env = case.full_argv(workspace), case_env(case, workspace)
    before = snapshot(workspace)
    if case.readonly:                           # no mount namespace here: the read-only error is injected
        inject_readonly(workspace.root / case.readonly, monkeypatch)
    got = run_in_process(case, workspace, argv, env, capsys, monkeypatch)
    check_outcome(case, got)
    check_files(case, before, snapshot(workspace))


PROCESS_CASES = [c for c in CASES if c.process or (c.readonly and PREFIX is not None)]


@pytest.fixture(scope="module")
def launched(tmp_path_factory, make_video, shared):
    """Every real-process case started at once (two at a time: the machine has two cores): id -> (workspace,
    snapshot before, future of the outcome)."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    jobs = {}
    for case in PROCESS_CASES:
        ws = Workspace(tmp_path_factory.mktemp(case.id) / "ws", make_video, shared)
        argv, env = case.full_argv(ws), case_env(case, ws)
        jobs[case.id] = (ws, snapshot(ws), pool.submit(run_process, case, ws, argv, env, PREFIX))
    yield jobs
    pool.shutdown(wait=True)


@pytest.mark.parametrize("case", _params(PROCESS_CASES))
def test_bad_input_in_a_real_process(case, launched):
    ws, before, future = launched[case.id]
    check_outcome(case, future.result())
    check_files(case, before, snapshot(ws))


def test_the_corpus_covers_every_cli_with_at_least_40_cases():
    assert len(BY_ID) == len(CASES), "case ids must be unique"
    per_cli = collections.Counter(c.cli for c in CASES)
    assert len(CASES) >= 40 and set(per_cli) == set(COMMANDS), per_cli
    assert {c.module for c in CASES if c.process} == {c.module for c in CASES}  # every entry point in a process
    assert all(c.style in ("error", "usage", "row", "ok") and c.reach in ("checks", "weights", "work") for c in CASES)
    assert all(c.code == 0 and c.reach == "work" for c in CASES if c.style == "ok")
    assert all(c.why for c in CASES if c.logs or c.new), "log lines or files left behind need a documented why"


def test_readme_lists_every_case():
    assert (HERE / "README.md").read_text(encoding="utf-8") == readme(), \
        "regenerate: .venv/bin/python tests/corpus/_corpus_table.py > tests/corpus/README.md"


def test_the_inputs_the_cases_start_from_are_good(workspace, capsys, monkeypatch):
    """The controls: the media, evaluation set and results the cases spoil are good as made (exit 0)."""
    from talkingface.__main__ import main

    monkeypatch.chdir(workspace.root)
    assert main(["probe", workspace.video(), workspace.video("silent.mp4", audio=False), workspace.wav(),
                 workspace.png()]) == 0
    assert main(["report", workspace.results(), "--output", workspace.p("cmp.md")]) == 0
    assert "generate_x_self" in (workspace.root / "cmp.md").read_text()
    workspace.evalset()
    assert main(["baseline", "--source_dir", workspace.p("es/source_self"), "--driving_dir",
                 workspace.p("es/gt_self"), "--save_folder", workspace.p("es/generate_baseline_self")]) == 0
    assert "Traceback" not in capsys.readouterr().err
