"""The slip catalogue stays runnable: every slip applies exactly once, compiles, and names tests that exist.

This is the cheap half of ``make slips`` (scripts/run_slips.py runs the tests with each slip in place): when the code
a slip targets is edited, this fails at once, in ``make test``, instead of the slip silently not applying.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from slip_catalogue import SLIPS, select  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
AREAS = {"media", "metrics", "paper-metrics", "syncnet", "dagan", "lawdnet", "evaluation", "reports",
         "serving"}


def test_catalogue_shape():
    ids = [s.id for s in SLIPS]
    assert len(ids) == len(set(ids)), "slip ids must be unique"
    assert len(SLIPS) >= 25
    assert {s.area for s in SLIPS} == AREAS
    assert {s.area for s in select(fast=True)} == AREAS, "the fast subset covers every area"
    for s in SLIPS:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s.id), s.id
        assert s.why and s.tests and s.old != s.new, s.id


@pytest.mark.parametrize("slip", SLIPS, ids=lambda s: s.id)
def test_slip_applies_exactly_once_and_compiles(slip):
    path = REPO / slip.file
    text = path.read_text(encoding="utf-8")
    assert text.count(slip.old) == 1, f"{slip.id}: old text found {text.count(slip.old)} times in {slip.file}"
    if path.suffix == ".py":
        compile(text.replace(slip.old, slip.new), str(path), "exec")


@pytest.mark.parametrize("slip", SLIPS, ids=lambda s: s.id)
def test_named_tests_exist(slip):
    for test in slip.tests:
        file, _, name = test.partition("::")
        path = REPO / file
        assert path.exists(), f"{slip.id}: {file} does not exist"
        if name:
            function = name.split("[")[0].split("::")[-1]
            assert re.search(rf"^\s*def {re.escape(function)}\(", path.read_text(encoding="utf-8"), re.M), \
                f"{slip.id}: no test {function} in {file}"
