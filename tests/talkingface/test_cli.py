"""`python -m talkingface`: every command answers --help, unknown commands and user errors exit non-zero cleanly."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


_EXIT_SCRIPT = """
import atexit, sys
from talkingface.errors import exit_process

class Finalised:
    def __del__(self):
        print("finalised", flush=True)

keep = Finalised()                     # released during the interpreter's teardown
atexit.register(lambda: print("atexit ran", flush=True))
print("done", end="")                  # unflushed: exit_process must flush it
exit_process(3)
"""


@pytest.mark.parametrize("torchrun", [False, True])
def test_exit_process_skips_the_teardown_only_in_torchrun_workers(torchrun, tmp_path):
    """A torchrun worker ends with os._exit after the atexit functions and a flush (gloo's C++ threads aborted some
    at teardown); any other process exits normally, its teardown included."""
    env = {k: v for k, v in os.environ.items() if k != "TORCHELASTIC_RUN_ID"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    if torchrun:
        env["TORCHELASTIC_RUN_ID"] = "test"
    proc = subprocess.run([sys.executable, "-c", _EXIT_SCRIPT], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.startswith("doneatexit ran\n")             # flushed, then the atexit functions
    assert ("finalised" in proc.stdout) is (not torchrun)
