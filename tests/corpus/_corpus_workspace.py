"""A corpus case's workspace: a fresh folder holding every input the case makes, and its snapshot (sha256 of all)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np


class Workspace:
    """A case's own folder; every input a case makes is written here (the checksums cover them)."""

    def __init__(self, root: Path, media, shared):
        self.root, self.media, self.shared = Path(root), media, shared
        self.external: list[Path] = []               # inputs outside root: checked by size, mtime and inode
        (self.root / "checkpoints").mkdir(parents=True, exist_ok=True)     # TALKINGFACE_CHECKPOINTS: empty

    def p(self, rel: str) -> str:
        return str(self.root / rel)

    def file(self, rel: str, data: bytes | str) -> str:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return str(path)

    def dir(self, rel: str) -> str:
        (self.root / rel).mkdir(parents=True, exist_ok=True)
        return self.p(rel)

    def copy(self, src, rel: str) -> str:
        return self.file(rel, Path(src).read_bytes())

    def video(self, rel: str = "in.mp4", audio: bool = True) -> str:
        """8 frames, 32x32, 25 fps (0.32 s), with a 440 Hz tone when ``audio``."""
        return self.copy(self.media(frames=8, size=(32, 32), fps=25, audio=audio), rel)

    def truncated(self, rel: str = "cut.mp4") -> str:
        """A good mp4 cut after 2000 bytes: its header says 0.32 s, the data stops early."""
        return self.file(rel, Path(self.media(frames=8, size=(32, 32), fps=25, audio=True)).read_bytes()[:2000])

    def wav(self, rel: str = "speech.wav") -> str:
        return self.copy(self.media.wav(0.5), rel)

    def png(self, rel: str = "face.png", size: int = 64, grey: bool = False) -> str:
        """A ``size`` x ``size`` PNG: the smooth colour waves of the synthetic videos, or flat grey (no face)."""
        from PIL import Image

        image = np.full((size, size, 3), 128, np.uint8) if grey else self.media.frame(3, size, size)
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)
        return str(path)

    def corrupt_png(self, rel: str = "corrupt.png") -> str:
        """The first 80 bytes of a good PNG: a valid signature and header, the pixel data cut off."""
        import io

        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(self.media.frame(3, 64, 64)).save(buffer, format="PNG")
        return self.file(rel, buffer.getvalue()[:80])

    def evalset(self, rel: str = "es", generated: bool = False) -> str:
        """An evaluation set with one pair (a): source_self/a.png, gt_self/a.mp4 (+ generate_x_self/a.mp4)."""
        self.png(f"{rel}/source_self/a.png")
        self.video(f"{rel}/gt_self/a.mp4")
        if generated:
            self.video(f"{rel}/generate_x_self/a.mp4")
        return self.p(rel)

    def results(self, rel: str = "res") -> str:
        """A results folder with a small, valid full_results.json (one run, PSNR of two samples)."""
        import json

        psnr = {"value": 30.0, "std": 1.0, "n": 2, "n_frames": 16, "protocol": "RGB uint8, data range 255",
                "lower_is_better": False, "kind": "image", "note": None}
        samples = [{"sample": s, "generated": f"/data/generate_x_self/{s}.mp4", "reference": f"/data/gt_self/{s}.mp4",
                    "source": None, "same_identity": True, "n_frames": 8, "error": None, "values": {"psnr": v},
                    "not_computable": {}, "notes": []} for s, v in (("a", 29.0), ("b", 31.0))]
        run = {"name": "generate_x_self", "mode": "self", "generated_dir": "/data/generate_x_self",
               "reference_dir": "/data/gt_self", "source_dir": "/data/source_self", "n_samples": 2, "n_failed": 0,
               "n_evaluated": 2, "n_frames": 16, "error": None, "warnings": [], "metrics": {"psnr": psnr},
               "samples": samples, "provenance": None}
        doc = {"kit_version": "0.1.0", "created": "2026-01-01T00:00:00+00:00", "environment": {}, "args": {},
               "runs": [run], "n_evaluated": 2, "n_failed": 0, "n_values": 1}
        self.file(f"{rel}/full_results.json", json.dumps(doc))
        return self.p(rel)

    def torch_file(self, rel: str, obj) -> str:
        """``torch.save(obj)``; a callable ``obj`` is called with the torch module first (to build tensors)."""
        import torch

        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(obj(torch) if callable(obj) else obj, path)
        return str(path)

    def dagan(self, rel: str = "model") -> dict[str, str]:
        """A tiny DaGAN checkpoint and its config (copies of the session's), and placeholder depth files."""
        files = self.shared.dagan_tiny()
        out = {"checkpoint": self.copy(files["checkpoint"], f"{rel}/dagan.pth.tar"),
               "config": self.copy(files["config"], f"{rel}/config.yaml")}
        for role in ("depth_encoder", "depth_decoder"):       # never read: the checkpoint is loaded (and fails) first
            out[role] = self.file(f"{rel}/{role}.pth", b"placeholder: the checkpoint fails first")
        return out

    @staticmethod
    def no_such_gpu() -> str:
        """``cuda`` where there is no GPU, else a GPU index no machine has: a device that cannot be used here."""
        import torch

        return "cuda:64" if torch.cuda.is_available() else "cuda"

    def syncnet_weights(self) -> str:
        path = self.shared.syncnet()
        self.external.append(path)
        return str(path)


def snapshot(ws: Workspace) -> dict[str, str]:
    """Every entry under the workspace: folders as ``"dir"``, symlinks by target, files by sha256."""
    tree: dict[str, str] = {}
    for folder, dirs, files in os.walk(ws.root):
        base = Path(folder)
        for name in dirs + files:
            path = base / name
            rel = path.relative_to(ws.root).as_posix()
            if path.is_symlink():
                tree[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                tree[rel + "/"] = "dir"
            else:
                tree[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    for path in ws.external:
        st = path.stat()
        tree[f"<external>{path}"] = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
    return tree
