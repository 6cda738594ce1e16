"""Runs LawDNet's own DeepSpeech feature code (a checkout of iPaw-AI-LAB/LawDNet) for make_golden_features.py.

Run with a scratch Python that has the authors' dependencies (TensorFlow 2.x, librosa, resampy, omegaconf,
hydra-core, pytorch-lightning, torchmetrics), never the kit's venv:

    python scripts/golden_authors_features.py make-ckpt --repo R --out tiny.ckpt
    python scripts/golden_authors_features.py run --repo R --graph g.pb --ckpt tiny.ckpt --inputs DIR --out o.npz

``make-ckpt`` builds their ``deepspeech_pytorch.model.DeepSpeech`` (LightningModule) with a tiny hidden size and
saves it in the Lightning checkpoint layout; ``run`` computes, for every ``DIR/*.wav``: dp1 with
``utils/deep_speech.py`` (``DeepSpeech(graph).compute_audio_feature``) and ``audio_processing.extract_deepspeech``
(windows); dp2 with ``Exp-of-Junli/extract_deepspeech_pytorch2.py`` (``check_and_resample_audio``,
``run_transcribe`` with precision 32 on the CPU, ``transcribe_and_process_audio`` for windows). ``STUBS`` lists what
had to be replaced; none of it computes a feature.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import shutil
import sys
import tempfile
import types
import zlib
from pathlib import Path

import numpy as np

STUBS = [
    "tf.compat.v1.disable_eager_execution() before utils/deep_speech.py runs (it is TF1 graph code; TF 2.x)",
    "torchaudio: a stand-in module whose load(path) reads the wav with scipy.io.wavfile and returns "
    "(float32 tensor (channels, n), rate) scaled by 1/32768 for int16 PCM, as torchaudio's sox_io backend does "
    "(normalize=True); set_audio_backend is a no-op. No torchaudio build exists for the kit's torch",
    "sox and Levenshtein: empty modules (imported for noise injection and WER/CER only)",
    "dataclasses.dataclass gets unsafe_hash=True for classes of deepspeech_pytorch.* while it is imported: their "
    "configs use dataclass instances as field defaults, which Python >= 3.11 rejects (they ran Python 3.9)",
    "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1: their load_from_checkpoint ran under torch < 2.6 (weights_only=False "
    "by default)",
    "import order: their deepspeech_pytorch (torch, lightning, triton) is imported before TensorFlow; the other "
    "order segfaults (TF 2.21 + triton 3.7)",
    "each input is copied to a temporary folder first: check_and_resample_audio overwrites the wav in place",
]
AUTHORS_FILES = ["utils/deep_speech.py", "audio_processing.py (extract_deepspeech)",
                 "Exp-of-Junli/extract_deepspeech_pytorch2.py", "Exp-of-Junli/deepspeech_pytorch/ (model, loader, "
                 "utils, configs, decoder, enums)"]
LABELS = list("_'ABCDEFGHIJKLMNOPQRSTUVWXYZ ")
HIDDEN, LAYERS = 12, 2


def _stub_modules() -> None:
    import torch
    from scipy.io import wavfile

    def load(path):
        rate, data = wavfile.read(path)
        if data.dtype != np.int16:
            raise TypeError(f"stand-in torchaudio.load reads int16 PCM only, got {data.dtype}")
        data = data.astype(np.float32) / np.float32(32768.0)
        data = data[None, :] if data.ndim == 1 else data.T
        return torch.from_numpy(np.ascontiguousarray(data)), rate

    ta = types.ModuleType("torchaudio")
    ta.load, ta.set_audio_backend = load, (lambda *a, **k: None)
    sys.modules["torchaudio"] = ta
    sys.modules["sox"] = types.ModuleType("sox")
    sys.modules["Levenshtein"] = types.ModuleType("Levenshtein")
    os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"


@contextlib.contextmanager
def _py311_dataclasses():
    original = dataclasses.dataclass

    def patched(cls=None, **kw):
        def wrap(c):
            if c.__module__.startswith("deepspeech_pytorch"):
                return original(c, **{**kw, "unsafe_hash": True})
            return original(c, **kw)
        return wrap(cls) if cls is not None else wrap

    dataclasses.dataclass = patched
    try:
        yield
    finally:
        dataclasses.dataclass = original


def _import_dp2(repo: Path):
    _stub_modules()
    sys.path.insert(0, str(repo / "Exp-of-Junli"))
    with _py311_dataclasses():
        import extract_deepspeech_pytorch2 as dp2  # their script, imported as a module
        from deepspeech_pytorch.configs.train_config import AdamConfig, BiDirectionalConfig, SpectConfig
        from deepspeech_pytorch.model import DeepSpeech
    return dp2, DeepSpeech, (AdamConfig, BiDirectionalConfig, SpectConfig)


def weight(key: str, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    """A tiny-model tensor from a seeded generator (seed = crc32 of the key), uniform, scaled by sqrt(3/fan_in)."""
    u = np.random.default_rng(zlib.crc32(key.encode())).uniform(-1.0, 1.0, size=shape)
    if key.endswith("running_var"):
        return 1.0 + 0.5 * np.abs(u)
    if key.endswith(("running_mean", ".bias")) and len(shape) == 1:
        return 0.2 * u
    if len(shape) == 1:  # BatchNorm weight
        return 1.0 + 0.3 * u
    return u * np.sqrt(3.0 / max(fan_in, 1))


def make_ckpt(repo: Path, out: Path) -> None:
    import torch
    from omegaconf import OmegaConf

    _, DeepSpeech, (AdamConfig, BiDirectionalConfig, SpectConfig) = _import_dp2(repo)
    model_cfg = OmegaConf.structured(BiDirectionalConfig(hidden_size=HIDDEN, hidden_layers=LAYERS))
    model = DeepSpeech(labels=LABELS, model_cfg=model_cfg, precision=32, optim_cfg=OmegaConf.structured(AdamConfig()),
                       spect_cfg=OmegaConf.structured(SpectConfig()))
    state = {}
    for key, value in model.state_dict().items():
        if value.dtype != torch.float32:
            state[key] = value.clone()
            continue
        fan_in = int(np.prod(value.shape[1:])) if value.ndim > 1 else 1
        # float16 storage halves the file; both loaders copy it into float32 parameters
        state[key] = torch.from_numpy(weight(key, tuple(value.shape), fan_in).astype(np.float16))
    import pytorch_lightning as pl

    ckpt = {"epoch": 0, "global_step": 0, "pytorch-lightning_version": pl.__version__, "state_dict": state,
            "hparams_name": "kwargs", "hyper_parameters": dict(model.hparams)}
    torch.save(ckpt, out)


def run(repo: Path, graph: Path, ckpt: Path, inputs: Path, out: Path, kind: str) -> None:
    """One feature kind per process, as the authors' inference runs one of them: resampy compiles its numba loop
    for the first dtype it sees and reuses it for later ones (dp1 resamples float64, dp2 int16), so running both in
    one process would give dp2 float64-accumulated resampling that the authors' dp2 inference never computes."""
    import torch

    dp2, _, _ = _import_dp2(repo)  # torch/lightning/triton before TensorFlow: the other order segfaults
    if kind == "dp1":
        import tensorflow as tf

        tf.compat.v1.disable_eager_execution()
    torch.set_num_threads(1)
    sys.path.insert(0, str(repo))
    from audio_processing import extract_deepspeech
    from deepspeech_pytorch.configs.inference_config import TranscribeConfig
    from deepspeech_pytorch.loader.data_loader import ChunkSpectrogramParser
    from deepspeech_pytorch.utils import load_decoder, load_model
    from utils.deep_speech import DeepSpeech as TfDeepSpeech

    device = torch.device("cpu")
    model = load_model(device=device, model_path=str(ckpt))
    cfg = TranscribeConfig()
    parser = ChunkSpectrogramParser(audio_conf=model.spect_cfg, normalize=True)
    decoder = load_decoder(labels=model.labels, cfg=cfg.lm)
    ds = TfDeepSpeech(str(graph)) if kind == "dp1" else None
    results = {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        for wav in sorted(inputs.glob("*.wav")):
            name = wav.stem
            if kind == "dp1":
                results[f"{name}/dp1"] = ds.compute_audio_feature(str(wav)).astype(np.float32)
                if not name.startswith("silent"):
                    windows, _ = extract_deepspeech(str(wav), str(graph))
                    results[f"{name}/dp1_windows"] = windows.numpy()
                continue
            copy = Path(tmp) / f"{name}.wav"
            shutil.copyfile(wav, copy)
            path = dp2.check_and_resample_audio(str(copy), target_sample_rate=16000)
            outs, _ = dp2.run_transcribe(audio_path=path, spect_parser=parser, model=model, decoder=decoder,
                                         device=device, precision=32, chunk_size_seconds=-1)
            results[f"{name}/dp2"] = outs[0][::2].numpy().astype(np.float32)
            if not name.startswith("silent"):
                shutil.copyfile(wav, copy)
                windows, _ = dp2.transcribe_and_process_audio(str(copy), str(ckpt), device, precision=32,
                                                              model=model, cfg=cfg, spect_parser=parser,
                                                              decoder=decoder)
                results[f"{name}/dp2_windows"] = windows.numpy()
    np.savez(out, **results)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=("make-ckpt", "run"))
    p.add_argument("--repo", type=Path, required=True, help="checkout of iPaw-AI-LAB/LawDNet")
    p.add_argument("--graph", type=Path)
    p.add_argument("--ckpt", type=Path)
    p.add_argument("--inputs", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--kind", choices=("dp1", "dp2"), help="run: the feature pipeline (one per process)")
    a = p.parse_args(argv)
    if a.mode == "make-ckpt":
        make_ckpt(a.repo.resolve(), a.out)
    else:
        run(a.repo.resolve(), a.graph.resolve(), a.ckpt.resolve(), a.inputs.resolve(), a.out, a.kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
