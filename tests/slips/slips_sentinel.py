"""pytest plugin of the slip runner: proves that the code under test is the temporary copy's, not the checkout's.

scripts/run_slips.py runs pytest with ``-p slips_sentinel`` and ``SLIPS_COPY_ROOT`` (the copy) in the environment.
The .venv's .pth file puts the checkout on sys.path, so without care the checkout's unslipped code could run and
every slip would look missed (or worse, a slip could look caught for another reason). At the end of the session the
plugin writes ``SLIPS_SENTINEL_FILE`` (JSON): where each imported module of the kit's packages came from, and whether
the slipped module (``SLIPS_MODULE``) was imported from the copy. Any module of the kit's packages imported from
outside the copy turns the session into a usage error (exit 4), which the runner counts as broken.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

PACKAGES = ("talkingface", "dagan", "syncnet", "lawdnet")


def _kit_modules() -> dict[str, str]:
    out = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name.split(".")[0] in PACKAGES and path:
            out[name] = str(Path(path).resolve())
    return out


def _outside(root: Path, modules: dict[str, str]) -> list[str]:
    return sorted(f"{name}: {path}" for name, path in modules.items() if not Path(path).is_relative_to(root))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    root = os.environ.get("SLIPS_COPY_ROOT")
    report = os.environ.get("SLIPS_SENTINEL_FILE")
    if not root or not report:
        return
    root_path = Path(root).resolve()
    modules = _kit_modules()
    outside = _outside(root_path, modules)
    slipped = os.environ.get("SLIPS_MODULE") or None
    doc = {"root": str(root_path), "outside": outside, "modules": len(modules), "slipped_module": slipped,
           "slipped_module_file": modules.get(slipped) if slipped else None, "exitstatus": int(exitstatus)}
    Path(report).write_text(json.dumps(doc, indent=1), encoding="utf-8")
    if outside:
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
