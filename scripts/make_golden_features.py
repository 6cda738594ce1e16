"""Make tests/data/golden/lawdnet_features.{npz,json}: LawDNet's own dp1/dp2 feature code on kit-made inputs.

    .venv/bin/python scripts/make_golden_features.py --repo /tmp/authors/LawDNet \
        --authors_python /tmp/authors-venv/bin/python

``--repo`` is a checkout (or ``git archive``) of iPaw-AI-LAB/LawDNet; ``--authors_python`` a scratch interpreter
with the authors' dependencies (TensorFlow 2.x, librosa, resampy, omegaconf, hydra-core, pytorch-lightning,
torchmetrics, matplotlib), which runs scripts/golden_authors_features.py. The kit's venv writes the tiny TF graph
(tests/lawdnet/_feature_fixtures.tiny_graph_bytes), the input wavs and the mp3; the authors' code writes the tiny
Lightning checkpoint (their DeepSpeech LightningModule) and computes every feature.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "lawdnet"), str(Path(__file__).resolve().parent)]

import _feature_fixtures as fx  # noqa: E402
from make_golden import sha256, write_json, write_npz  # noqa: E402

AUTHORS_REPO = "https://github.com/iPaw-AI-LAB/LawDNet"
#: the authors' 5-row windows kept (the others follow from the features by the same rule; they would add 0.6 MB)
KEEP_WINDOWS = ("speech16k/dp1_windows", "speech44k_stereo/dp2_windows")
MP3_ARGS = ["-c:a", "libmp3lame", "-b:a", "64k", "-bitexact", "-map_metadata", "-1"]


def authors_versions(python: str) -> dict:
    code = ("import json, importlib.metadata as m, platform; print(json.dumps({'python': platform.python_version(),"
            " **{p: m.version(p) for p in ['tensorflow-cpu', 'torch', 'numpy', 'scipy', 'librosa', 'resampy',"
            " 'python_speech_features', 'omegaconf', 'hydra-core', 'pytorch-lightning', 'torchmetrics']}}))")
    return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


def commit_of(repo: Path, given: str | None) -> str:
    if given:
        return given
    out = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"error: {repo} is not a git checkout; give its commit with --commit")
    return out.stdout.strip()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", type=Path, required=True, help="checkout of iPaw-AI-LAB/LawDNet")
    p.add_argument("--commit", help="its commit, when the folder is not a git checkout")
    p.add_argument("--authors_python", required=True, help="interpreter with the authors' dependencies")
    p.add_argument("--out", type=Path, default=fx.GOLDEN, help="output folder")
    a = p.parse_args(argv)
    from lawdnet.features.audio import dp1_signal, dp2_signal, read_pcm
    from talkingface.media import ffmpeg_version
    from talkingface.media.ffmpeg import run_ffmpeg

    out = a.out
    out.mkdir(parents=True, exist_ok=True)
    graph, ckpt, mp3 = out / fx.GRAPH.name, out / fx.CKPT.name, out / fx.MP3.name
    graph.write_bytes(fx.tiny_graph_bytes())
    script = str(REPO / "scripts" / "golden_authors_features.py")
    subprocess.run([a.authors_python, script, "make-ckpt", "--repo", str(a.repo), "--out", str(ckpt)], check=True)
    with tempfile.TemporaryDirectory(prefix="golden_features_") as tmp:
        work = Path(tmp)
        inputs = {name: fx.write_variant(name, work) for name in fx.VARIANTS}
        run_ffmpeg(["-y", "-i", inputs["speech44k_stereo"], *MP3_ARGS, mp3], "encode mp3")
        decoded = work / "speech_mp3.wav"  # the mp3 as the kit decodes it (16-bit PCM, its own rate/channels)
        from scipy.io import wavfile

        wavfile.write(decoded, *read_pcm(mp3))
        inputs["speech_mp3"] = decoded
        arrays = {}
        for kind in ("dp1", "dp2"):          # one process each, as the authors' inference (see their `run`)
            result = work / f"authors_{kind}.npz"
            subprocess.run([a.authors_python, script, "run", "--repo", str(a.repo), "--graph", str(graph), "--ckpt",
                            str(ckpt), "--inputs", str(work), "--out", str(result), "--kind", kind], check=True)
            arrays.update((k, v) for k, v in np.load(result).items()
                          if not k.endswith("_windows") or k in KEEP_WINDOWS)
        signals = {}
        for name, path in inputs.items():
            rate, samples = read_pcm(path)
            signals[name] = {"rate": rate, "shape": list(samples.shape), "sha256": fx.samples_sha256(samples),
                             "dp1_signal_sha256": fx.samples_sha256(dp1_signal(rate, samples)),
                             "dp2_signal_sha256": fx.samples_sha256(dp2_signal(rate, samples)),
                             "n16": int(dp1_signal(rate, samples).size)}
    write_npz(out / "lawdnet_features.npz", arrays)
    doc = {
        "command": "scripts/make_golden_features.py --repo <LAWDNET_REPO> --authors_python <AUTHORS_PYTHON>",
        "authors": {"repository": AUTHORS_REPO, "commit": commit_of(a.repo, a.commit),
                    "files": __import__("golden_authors_features").AUTHORS_FILES,
                    "stubs": __import__("golden_authors_features").STUBS, "environment": authors_versions(
                        a.authors_python)},
        "kit_environment": {"python": platform.python_version(), "numpy": np.__version__,
                            "ffmpeg": ffmpeg_version()},
        "inputs": {"variants": fx.VARIANTS, "speech_mp3": f"{fx.MP3.name}: speech44k_stereo encoded by the kit's "
                   f"ffmpeg {' '.join(MP3_ARGS)}; the authors' code read it decoded to 16-bit PCM wav by "
                   f"lawdnet.features.audio.read_pcm (their wavfile.read cannot read mp3)", "signals": signals},
        "weights": {"dp1_graph": {"file": graph.name, "sha256": sha256(graph),
                                  "made_by": "tests/lawdnet/_feature_fixtures.tiny_graph_bytes(seed=2024)"},
                    "dp2_checkpoint": {"file": ckpt.name, "sha256": sha256(ckpt), "made_by":
                                       "scripts/golden_authors_features.py make-ckpt: their DeepSpeech("
                                       "BiDirectionalConfig(hidden_size=12, hidden_layers=2)), float16 tensors "
                                       "from golden_authors_features.weight, Lightning layout"}},
        "arrays": {k: list(v.shape) for k, v in sorted(arrays.items())},
        "notes": ["<name>/dp1: utils/deep_speech.py compute_audio_feature; <name>/dp1_windows: audio_processing."
                  "extract_deepspeech; <name>/dp2: run_transcribe(precision=32)[0][::2] after "
                  "check_and_resample_audio; <name>/dp2_windows: transcribe_and_process_audio "
                  f"(kept for {', '.join(KEEP_WINDOWS)} only)",
                  "silent16k/dp2 is all NaN in the authors' code (std 0 spectrogram); the kit raises MediaError"],
    }
    write_json(out / "lawdnet_features.json", doc)
    print(f"wrote {out / 'lawdnet_features.npz'} ({len(arrays)} arrays)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
