"""Inputs are sacred and outputs are checked before work: same file by any name, input folders, read-only volumes,
full disks — one line, non-zero exit, no partial file, inputs unchanged."""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from talkingface.errors import OutputError, cli_main
from talkingface.fsutil import atomic_path, write_text_atomic
from talkingface.outputs import check_writable, refuse_input, refuse_input_folder


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_file_by_any_name_is_refused(tmp_path):
    src = tmp_path / "in.mp4"
    src.write_bytes(b"video")
    (tmp_path / "link.mp4").symlink_to(src)
    os.link(src, tmp_path / "hard.mp4")
    (tmp_path / "sub").mkdir()
    for name in ("in.mp4", "link.mp4", "hard.mp4", "sub/../in.mp4"):
        with pytest.raises(OutputError, match="would overwrite the input file"):
            refuse_input(tmp_path / name, [src, None], "result video")
    refuse_input(tmp_path / "out.mp4", [src])                       # a new name next to the input is fine
    with pytest.raises(OutputError, match="lies inside the input folder"):
        refuse_input(tmp_path / "sub" / "x.mp4", [tmp_path / "sub"])
    with pytest.raises(OutputError, match="would overwrite the input folder"):
        refuse_input(tmp_path / "sub", [tmp_path / "sub"])
    for folder in ("gt_self", "source_cross/x", "evaluation_set/gt_cross"):
        with pytest.raises(OutputError, match="evaluation_set input folder"):
            refuse_input_folder(tmp_path / folder)
    refuse_input_folder(tmp_path / "generate_dagan_self")
    assert src.read_bytes() == b"video"


def test_a_full_disk_leaves_nothing_and_says_so(tmp_path, monkeypatch):
    final = tmp_path / "report.html"
    final.write_text("old")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match=r"report\.html: not written \(no space left on device\); nothing was left"):
        with atomic_path(final) as tmp:
            tmp.write_text("half")
            monkeypatch.setattr(os, "replace", full)
    monkeypatch.undo()
    assert final.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_cli_main_reports_os_errors_users_can_fix_in_one_line(tmp_path, capsys):
    @cli_main
    def main(argv=None):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "x.json"))

    assert main([]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'x.json'}: read-only file system; mount the volume " \
                                      f"read-write\n"


def _readonly_runner():
    """Run a command with ``folder`` mounted read-only (a private mount namespace; root ignores permission bits, so
    chmod proves nothing), or None where this machine cannot make one."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    probe = subprocess.run([unshare, "-rm", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        return None

    def run(folder, argv):
        script = f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" && exec "$@"'
        return subprocess.run([unshare, "-rm", "sh", "-c", script, "sh", sys.executable, *argv],
                              capture_output=True, text=True, check=False)
    return run


def test_read_only_output_folders_are_found_before_any_work(tmp_path, make_video, monkeypatch):
    video = make_video(frames=3, size=(32, 32), fps=30)
    out = tmp_path / "ro"
    out.mkdir()
    before = _sha(video)
    run = _readonly_runner()
    if run is not None:                                 # the real thing: a read-only bind mount
        result = run(out, ["-m", "talkingface", "normalize", str(video), str(out / "x.mp4")])
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "read-only file system" in lines[0] and "Traceback" not in result.stderr
    else:                                               # no mount namespaces here: the same check, errno injected
        from talkingface import outputs

        def readonly(final, tag="partial"):
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr(outputs, "temp_sibling", readonly)
        with pytest.raises(OutputError, match="read-only file system"):
            check_writable(out, "output folder")
    assert list(out.iterdir()) == [] and _sha(video) == before
    write_text_atomic(out / "ok.txt", "writable again outside the namespace")
