"""The house rules of docs/architecture.md, checked: import contracts (import-linter, pyproject.toml), one job per
file (a one-line docstring first, at most 300 lines), no network code outside modules/."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("talkingface", "dagan", "syncnet", "lawdnet")
MAX_LINES = 300


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES if (REPO / pkg).is_dir() for p in (REPO / pkg).rglob("*.py"))


def test_import_contracts_hold():
    """lint-imports in a process of its own: it reconfigures logging (dictConfig disables every other logger)."""
    script = ("import sys; from importlinter.cli import lint_imports; "
              "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[out.find("Broken contracts"):] or out
    assert "BROKEN" not in out and "KEPT" in out


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_each_file_says_what_it_holds_and_stays_small(path):
    text = path.read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(text), clean=False)
    assert doc and doc.strip(), f"{path}: no module docstring saying what the file holds"
    first = doc.strip().splitlines()[0]
    assert len(first) <= 120, f"{path}: the docstring's first line should say in one line what the file holds"
    assert text.count("\n") <= MAX_LINES, f"{path}: {text.count(chr(10))} lines (> {MAX_LINES}): split it by job"


def test_test_file_names_are_unique():
    """Test folders are not packages, so pytest imports test modules by their file name: two test_x.py files in
    different folders make the second folder's collection fail (import file mismatch)."""
    names = [p.name for p in (REPO / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
