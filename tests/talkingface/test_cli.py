"""`python -m talkingface`: every command answers --help, unknown commands and user errors exit non-zero cleanly."""
from __future__ import annotations

import subprocess
import sys

import pytest

from talkingface.__main__ import COMMANDS, main


def run(*args):
    return subprocess.run([sys.executable, "-m", "talkingface", *args], capture_output=True, text=True)


def test_usage_lists_every_command(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


def test_unknown_command(capsys):
    assert main(["evaluat"]) == 2
    assert "unknown command 'evaluat'" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_explains_itself(name):
    result = run(name, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "Traceback" not in result.stderr


def test_user_error_is_one_line(tmp_path):
    result = run("baseline", "--source_dir", str(tmp_path / "missing"), "--driving_dir", str(tmp_path),
                 "--save_folder", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "folder not found" in result.stderr


def test_usage_mistakes_are_one_line(capsys):
    """A usage mistake (unknown flag, bad choice, missing argument) is one line like every other error."""
    from talkingface.cli.evaluate import main as evaluate_main

    for argv in (["--no_such_flag"], ["--ssim_protocol", "wang"], ["--batch_size", "x"]):
        with pytest.raises(SystemExit) as exit_info:
            evaluate_main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: python -m talkingface evaluate: "), err
        assert err[0].endswith("(see `python -m talkingface evaluate --help`)")
