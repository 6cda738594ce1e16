"""One device resolution and one logging set-up for every CLI."""
from __future__ import annotations

import logging

import pytest
import torch

from talkingface.device import resolve_device
from talkingface.errors import ConfigError, KitError, cli_main


def test_resolve_device():
    assert resolve_device("cpu") == "cpu" and resolve_device(torch.device("cpu")) == "cpu"
    assert resolve_device("auto") == resolve_device(None) == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="'gpu0' is not a device"):
        resolve_device("gpu0")
    with pytest.raises(ConfigError, match="not supported"):
        resolve_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU is available"):
            resolve_device("cuda:0")


def test_cli_main_logs_one_line_per_message_and_errors_without_traceback(capsys):
    @cli_main
    def main(argv=None):
        logging.getLogger("dagan.x").info("wrote %s", "out.mp4")
        logging.getLogger("talkingface.evaluation").warning("careful")
        raise KitError("input.mp4: no video stream")

    assert main([]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["wrote out.mp4", "warning: careful", "error: input.mp4: no video stream"]
    assert main([]) == 2 and len(capsys.readouterr().err.splitlines()) == 3   # set-up twice: no doubled lines
