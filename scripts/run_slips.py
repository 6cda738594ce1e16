#!/usr/bin/env python3
"""Apply each slip of tests/slips/slip_catalogue.py to a temporary copy of the tree and require its tests to fail.

    .venv/bin/python scripts/run_slips.py              # every slip (make slips)
    .venv/bin/python scripts/run_slips.py --fast       # the CI subset: the quickest slips of every area
    .venv/bin/python scripts/run_slips.py --only lse-c-mean --only reader-bgr
    .venv/bin/python scripts/run_slips.py --list
    .venv/bin/python scripts/run_slips.py --only animate-absolute --with-tests tests/dagan/test_dagan_cli.py

The working tree (tracked files and untracked ones git does not ignore: ``git ls-files -co --exclude-standard``) is
copied once. First the union of the selected slips' tests runs on the unmodified copy and must pass (else exit 2:
a slip could look caught for a failure of its own). Then, per slip: ``old`` must occur exactly once in its file, it
is replaced by ``new``, ``python -m pytest -x -q -p no:cacheprovider <tests>`` runs in the copy with the copy first
on PYTHONPATH (and no bytecode written, so a reverted file is never served from a stale .pyc), the file is restored
and checked byte for byte. The pytest plugin tests/slips/slips_sentinel.py reports where the kit's modules came from:
anything imported from outside the copy makes that run broken.

Outcome per slip: **caught** = pytest exit 1 (a test failed or errored; the first one is named); **missed** = exit 0;
**broken** = the slip did not apply, or pytest exited otherwise (collection error 2, usage error 4, nothing collected
5), timed out, or the sentinel did not report from the copy. Exit status 0 only when every slip is caught
(docs/slips.md).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "slips"))

from slip_catalogue import SLIPS, Slip, select  # noqa: E402

PACKAGES = ("talkingface", "dagan", "syncnet", "lawdnet")
SUMMARY_LINE = re.compile(r"^(FAILED|ERROR) (\S+)")


@dataclass
class Outcome:
    slip: Slip
    result: str                       # caught | missed | broken
    seconds: float
    detail: str = ""                  # the first failing test, or why it is broken
    log: str = ""
    sentinel: dict = field(default_factory=dict)


def copy_tree(repo: Path, dest: Path) -> int:
    """Copy the tracked and untracked-not-ignored files of ``repo`` to ``dest``; returns how many."""
    names = subprocess.run(["git", "-C", str(repo), "ls-files", "-co", "--exclude-standard", "-z"],
                           capture_output=True, check=True).stdout.decode().split("\0")
    count = 0
    for name in filter(None, names):
        src = repo / name
        if not src.exists() and not src.is_symlink():
            continue                  # deleted in the working tree, not yet in git
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(os.readlink(src))
        elif src.is_file():
            shutil.copy2(src, target)
        else:
            continue                  # a submodule or other nested repository: not part of the kit's tree
        count += 1
    return count


def module_name(path: str) -> str | None:
    parts = Path(path).with_suffix("").parts
    if not path.endswith(".py") or parts[0] not in PACKAGES:
        return None
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class Runner:
    def __init__(self, copy: Path, work: Path, python: str, timeout: float):
        self.copy, self.work, self.python, self.timeout = copy, work, python, timeout
        (work / "logs").mkdir(parents=True, exist_ok=True)

    def pytest(self, name: str, tests: list[str], module: str | None) -> tuple[int | None, str, dict]:
        """(exit code or None on timeout, output, sentinel report) of pytest on ``tests`` in the copy."""
        sentinel = self.work / "logs" / f"{name}.sentinel.json"
        sentinel.unlink(missing_ok=True)
        basetemp = self.work / "pytest" / name
        basetemp.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", SLIPS_COPY_ROOT=str(self.copy),
                   SLIPS_SENTINEL_FILE=str(sentinel), SLIPS_MODULE=module or "",
                   PYTHONPATH=os.pathsep.join([str(self.copy), str(self.copy / "tests" / "slips"),
                                               *filter(None, [os.environ.get("PYTHONPATH")])]))
        cmd = [self.python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "slips_sentinel",
               "--basetemp", str(basetemp), *tests]
        proc = subprocess.Popen(cmd, cwd=self.copy, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=self.timeout)
            code: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)         # pytest and anything it started (ffmpeg), by group id
            out, _ = proc.communicate()
            code = None
        text = out.decode("utf-8", "replace")
        (self.work / "logs" / f"{name}.log").write_text(text, encoding="utf-8")
        shutil.rmtree(basetemp, ignore_errors=True)
        report = json.loads(sentinel.read_text()) if sentinel.is_file() else {}
        return code, text, report

    def run_slip(self, slip: Slip) -> Outcome:
        start = time.perf_counter()
        path = self.copy / slip.file
        if not path.is_file():
            return Outcome(slip, "broken", 0.0, f"{slip.file}: no such file")
        original = path.read_bytes()
        text = original.decode("utf-8")
        found = text.count(slip.old)
        if found != 1:
            return Outcome(slip, "broken", 0.0, f"old text found {found} times in {slip.file} (must be exactly once)")
        path.write_text(text.replace(slip.old, slip.new), encoding="utf-8")
        try:
            code, log, report = self.pytest(slip.id, list(slip.tests), module_name(slip.file))
        finally:
            path.write_bytes(original)
        if path.read_bytes() != original:
            raise RuntimeError(f"{path}: not restored after slip {slip.id}")
        seconds = time.perf_counter() - start
        result, detail = classify(code, log, report, self.copy)
        return Outcome(slip, result, seconds, detail, log, report)


def classify(code: int | None, log: str, report: dict, copy: Path) -> tuple[str, str]:
    if code is None:
        return "broken", "timed out"
    if not report:
        return "broken", f"pytest exit {code}; the sentinel did not report (was tests/slips/slips_sentinel.py loaded?)"
    if report.get("outside"):
        return "broken", f"kit modules imported from outside the copy: {report['outside'][:2]}"
    mod_file = report.get("slipped_module_file")
    if report.get("slipped_module") and mod_file and not Path(mod_file).is_relative_to(copy.resolve()):
        return "broken", f"slipped module imported from {mod_file}"
    if code == 0:
        note = "" if not report.get("slipped_module") or mod_file else " (its module was never imported)"
        return "missed", f"tests passed{note}"
    if code == 1:
        first = next((m.group(2) for m in map(SUMMARY_LINE.match, log.splitlines()) if m), "a test failed")
        return "caught", first
    tail = [line for line in log.strip().splitlines() if line.strip()][-1:] or [""]
    return "broken", f"pytest exit {code}: {tail[0][:160]}"


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def print_table(outcomes: list[Outcome]) -> None:
    width = max(len(o.slip.id) for o in outcomes)
    print(f"\n{'slip':<{width}}  {'area':<10}  {'result':<7}  {'s':>6}  caught by / detail")
    for o in outcomes:
        print(f"{o.slip.id:<{width}}  {o.slip.area:<10}  {o.result:<7}  {o.seconds:6.1f}  {o.detail}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--fast", action="store_true", help="only the CI subset (the slips marked fast)")
    p.add_argument("--only", action="append", metavar="ID", help="only this slip (repeatable, or ID,ID)")
    p.add_argument("--list", action="store_true", help="list the slips and exit")
    p.add_argument("--with-tests", action="append", metavar="TEST",
                   help="run these tests instead of each slip's own (repeatable): does an older test catch it?")
    p.add_argument("--timeout", type=float, default=900, help="seconds per pytest run (default 900)")
    p.add_argument("--no-baseline", action="store_true", help="skip the run of the tests on the unmodified copy")
    p.add_argument("--keep", action="store_true", help="keep the temporary copy and the logs")
    p.add_argument("--json", metavar="PATH", help="write the outcomes as JSON")
    p.add_argument("--python", default=sys.executable, help="the interpreter that runs pytest (default: this one)")
    args = p.parse_args(argv)
    only = [i for chunk in args.only or [] for i in chunk.split(",") if i]
    try:
        slips = select(args.fast, only)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.with_tests:
        slips = [dataclasses.replace(s, tests=tuple(args.with_tests)) for s in slips]
    if args.list:
        for s in slips:
            print(f"{s.id:<28} {s.area:<10} {'fast ' if s.fast else '     '}{s.file}: {s.why}")
        print(f"{len(slips)} of {len(SLIPS)} slips")
        return 0

    started, load_before = time.perf_counter(), load()
    work = Path(tempfile.mkdtemp(prefix="slips_"))
    copy = work / "tree"
    n = copy_tree(REPO, copy)
    print(f"copied {n} files of {REPO} to {copy}; {len(slips)} slips; load (1/5/15 min) {load_before}", flush=True)
    runner = Runner(copy, work, args.python, args.timeout)
    keep = args.keep
    try:
        if not args.no_baseline:
            tests = list(dict.fromkeys(t for s in slips for t in s.tests))
            t0 = time.perf_counter()
            code, log, report = runner.pytest("baseline", tests, None)
            result, detail = classify(code, log, report, copy)
            print(f"baseline: {len(tests)} test paths on the unmodified copy: "
                  f"{'pass' if result == 'missed' else detail} in {time.perf_counter() - t0:.1f} s", flush=True)
            if result != "missed":
                print(log[-4000:], file=sys.stderr)
                print("error: the slips' tests must pass on the unmodified tree first", file=sys.stderr)
                keep = True
                return 2
        outcomes = []
        for i, slip in enumerate(slips, 1):
            outcome = runner.run_slip(slip)
            outcomes.append(outcome)
            print(f"[{i}/{len(slips)}] {slip.id}: {outcome.result} in {outcome.seconds:.1f} s — {outcome.detail}",
                  flush=True)
            if outcome.result != "caught" and outcome.log:
                print("    " + "\n    ".join(outcome.log.strip().splitlines()[-8:]), flush=True)
        print_table(outcomes)
        caught = sum(o.result == "caught" for o in outcomes)
        total = time.perf_counter() - started
        print(f"\ncaught {caught}/{len(outcomes)} in {total:.0f} s (load 1/5/15 min: before {load_before}, "
              f"after {load()})")
        if args.json:
            Path(args.json).write_text(json.dumps({
                "caught": caught, "total": len(outcomes), "seconds": round(total, 1), "load_before": load_before,
                "load_after": load(), "slips": [{"id": o.slip.id, "area": o.slip.area, "result": o.result,
                                                  "seconds": round(o.seconds, 1), "detail": o.detail}
                                                 for o in outcomes]}, indent=1), encoding="utf-8")
        if caught != len(outcomes):
            keep = True
            return 1
        return 0
    finally:
        if keep:
            print(f"kept {work} (copy in tree/, pytest output in logs/)", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
