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

    # --- LawDNet (python -m lawdnet.infer): a face template, speech in every format, graphs and checkpoints -------

    def face(self, rel: str = "face.mp4", frames: int = 10) -> str:
        """``frames`` frames of the kit's 256x256 talking head at 25 fps (OpenCV's Haar cascade finds the face)."""
        return self.copy(self.media.talking_head(frames=frames), rel)

    def face_retimed(self, rel: str = "face30.mp4", fps: str = "30", vfr: bool = False) -> str:
        """The 10-frame talking head re-encoded by ffmpeg at ``fps``, or with ``vfr`` at a variable frame rate (frame
        durations 40, 40, 80, 40, 120 … ms: a phone's timestamps)."""
        src = self.media.talking_head(frames=10)
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if vfr:
            args = ["-i", str(src), "-vf", "setpts='N*0.04/TB+if(gte(N,2),0.04,0)/TB+if(gte(N,4),0.08,0)/TB'",
                    "-fps_mode", "vfr"]
        else:
            args = ["-i", str(src), "-vf", f"fps={fps}"]
        _ffmpeg([*args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an", str(path)])
        return str(path)

    def pcm(self, rel: str, samples, rate: int = 16000) -> str:
        """A 16-bit PCM wav of ``samples`` (int16, (n,) or (n, channels)) at ``rate``."""
        from scipy.io import wavfile

        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        wavfile.write(path, rate, np.asarray(samples, dtype=np.int16))
        return str(path)

    def speech(self, rel: str = "speech16k.wav", seconds: float = 0.4, rate: int = 16000,
               stereo: bool = False) -> str:
        """``seconds`` of the kit's sample speech (from 0.5 s in, where it talks) at ``rate`` (resampled), mono
        or stereo (right = left reversed); .mp3 / .m4a names are encoded by ffmpeg from that wav."""
        from scipy.io import wavfile
        from scipy.signal import resample_poly

        from talkingface import sample

        base, data = wavfile.read(sample.SPEECH_WAV)
        data = data[round(0.5 * base):round((0.5 + seconds) * base)].astype(np.float64)
        if rate != base:
            data = resample_poly(data, rate, base)
        data = np.clip(np.round(data), -32768, 32767)
        if stereo:
            data = np.stack([data, data[::-1]], axis=1)
        if Path(rel).suffix == ".wav":
            return self.pcm(rel, data, rate)
        wav = self.pcm(rel + ".src.wav", data, rate)
        try:
            _ffmpeg(["-i", wav, str(self.root / rel)])
        finally:
            os.unlink(wav)
        return self.p(rel)

    def tone(self, rel: str = "tone.wav", seconds: float = 0.4, noise: bool = False) -> str:
        """No speech: a 440 Hz tone at half scale, or with ``noise`` seeded white noise at a quarter scale."""
        n = round(seconds * 16000)
        if noise:
            x = np.random.default_rng(0).uniform(-8192, 8192, n)
        else:
            x = 16383 * np.sin(2 * np.pi * 440 * np.arange(n) / 16000)
        return self.pcm(rel, np.round(x), 16000)

    def lawdnet_generator(self, rel: str = "checkpoint_epoch_0.pth", model: str = "lawdnet") -> str:
        """A valid random generator checkpoint in the authors' checkpoint_epoch format (:mod:`lawdnet.random_weights`;
        made once per session, copied)."""
        made = Path(self.shared.folder) / f"lawdnet_random_{model}.pth"
        if not made.is_file():
            from lawdnet.random_weights import write_random_generator

            write_random_generator(made, model=model, seed=0)
        return self.copy(made, rel)

    def dp1_graph(self, rel: str = "output_graph.pb", **kw) -> str:
        """A tiny frozen TF1 graph with DeepSpeech v0.1.0's interface (tests/lawdnet/_feature_fixtures.py);
        ``logits_name=`` / ``scope=`` give another release's tensor names."""
        import sys

        from lawdnet.features.tf import tensorflow

        tensorflow()               # TensorFlow as the kit imports it (triton first: the other order segfaults)
        fixtures = str(Path(__file__).resolve().parents[1] / "lawdnet")
        if fixtures not in sys.path:
            sys.path.insert(0, fixtures)
        from _feature_fixtures import tiny_graph_bytes

        return self.file(rel, tiny_graph_bytes(**kw))


def _ffmpeg(args: list[str]) -> None:
    import subprocess

    from talkingface.media.ffmpeg import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-y", "-v", "error", *args], check=True, capture_output=True)


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
