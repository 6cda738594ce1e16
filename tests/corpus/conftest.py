"""Fixtures of the bad-input corpus: the session's shared model files and a fresh workspace per case."""
from __future__ import annotations

from pathlib import Path

import pytest
from _corpus_workspace import Workspace


class Shared:
    """Model files made once per session, on first use: a tiny DaGAN checkpoint (1 MB) and SyncNet weights."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._dagan: dict[str, Path] | None = None
        self._syncnet: Path | None = None

    def dagan_tiny(self) -> dict[str, Path]:
        """A randomly initialised tiny DaGAN checkpoint (authors' format) and its config; no depth files."""
        if self._dagan is None:
            from dagan.checkpoint import save_checkpoint
            from dagan.config import load_dagan_config
            from dagan.model import build_generator, build_kp_detector
            from dagan.random_weights import TINY_OVERRIDES
            from talkingface.config import save_resolved

            cfg = load_dagan_config(None, overrides=TINY_OVERRIDES)
            folder = self.folder / "dagan"
            folder.mkdir()
            save_checkpoint(folder / "dagan.pth.tar", build_generator(cfg), build_kp_detector(cfg))
            save_resolved(cfg, folder, "config.yaml")
            self._dagan = {"checkpoint": folder / "dagan.pth.tar", "config": folder / "config.yaml"}
        return self._dagan

    def syncnet(self) -> Path:
        """A randomly initialised SyncNet in the syncnet_v2.model format (54 MB: shared, never copied)."""
        if self._syncnet is None:
            import torch

            from syncnet.model import SyncNet, save_syncnet

            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                self._syncnet = save_syncnet(SyncNet(), self.folder / "syncnet_v2.model")
        return self._syncnet


@pytest.fixture(scope="session")
def shared(tmp_path_factory) -> Shared:
    return Shared(tmp_path_factory.mktemp("corpus_shared"))


@pytest.fixture
def workspace(tmp_path, make_video, shared) -> Workspace:
    return Workspace(tmp_path / "ws", make_video, shared)
