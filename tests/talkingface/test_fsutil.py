"""Atomic writes: the final name appears only complete, a failure leaves the old file and no temporary behind."""
from __future__ import annotations

import os

import pytest

from talkingface.fsutil import atomic_path, temp_sibling, write_text_atomic


def test_atomic_path_replaces_only_on_success(tmp_path):
    final = tmp_path / "out.txt"
    final.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(final) as tmp:
            tmp.write_text("half")
            assert tmp.parent == tmp_path and tmp.name.startswith(".out.") and tmp.suffix == ".txt"
            raise RuntimeError("killed mid-write")
    assert final.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    with atomic_path(final, fsync=True) as tmp:
        tmp.write_text("new")
        assert final.read_text() == "old"                     # not visible before the block ends
    assert final.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_temp_sibling_has_the_users_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        tmp = temp_sibling(tmp_path / "a.mp4")
    finally:
        os.umask(old)
    assert tmp.exists() and tmp.suffix == ".mp4" and (tmp.stat().st_mode & 0o777) == 0o644


def test_write_text_atomic_makes_folders(tmp_path):
    path = write_text_atomic(tmp_path / "x" / "y.json", "{}\n")
    assert path.read_text() == "{}\n"
