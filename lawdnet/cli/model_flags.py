"""The model flags `python -m lawdnet.infer`, `python -m lawdnet.serve` and `python -m lawdnet.generate` share:
which generator and audio features (files, or the manifest's entries, or seeded random weights), the device, the
template's landmarks and cache.

The names are the authors' where they have one (``--lawdnet_model_path --deepspeech_model_path --mouthsize
--gpu_index``); :func:`check_model_flags` refuses contradictions in one line, :func:`weight_files` finds every weight
file at once (all missing ones named), :func:`pick_device` reads ``--device`` / ``--gpu_index``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from lawdnet import config
from talkingface.errors import KitError

GENERATOR_ENTRY = config.GENERATOR_WEIGHTS
FEATURE_ENTRY = config.FEATURE_WEIGHTS
DEFAULT_FEATURES = {"lawdnet": "dp2", "dinet": "dp1"}     # what each published model was trained with
DEFAULT_MOUTH = {"lawdnet": 288, "dinet": 256}


def add_model_flags(parser: argparse.ArgumentParser, cache_default: str | None = None) -> None:
    """Add the model, weights, device, landmark and template-cache flags to ``parser`` (``cache_default``: where
    the command keeps the template cache when --template_cache is not given, for its help)."""
    a = parser.add_argument
    a("--model", default="lawdnet", choices=list(GENERATOR_ENTRY),
      help="lawdnet (LawDNet_2024's cross-attention model, default) or dinet (DINet's released clip model)")
    a("--lawdnet_model_path", help="generator checkpoint in the authors' format (checkpoint_epoch_N.pth or "
                                   "netG_model_epoch_N.pth; DINet's for --model dinet) (default: manifest entry "
                                   "lawdnet_epoch_170, or dinet_clip_256mouth with --model dinet)")
    a("--features", choices=list(FEATURE_ENTRY),
      help="audio features: dp2 (deepspeech.pytorch LibriSpeech model, what LawDNet's published model and servers "
           "use; default for lawdnet) or dp1 (DeepSpeech v0.1 TensorFlow graph, DINet's; default for dinet; needs "
           "the tf extra)")
    a("--deepspeech_model_path", help="DeepSpeech v0.1 output_graph.pb for --features dp1 (default: manifest entry "
                                      "deepspeech_graph)")
    a("--dp2_model_path", help="deepspeech.pytorch LibriSpeech_Pretrained_v3.ckpt for --features dp2 (default: "
                               "manifest entry deepspeech_pytorch_librispeech)")
    a("--mouthsize", type=int, help="mouth size the generator was trained at: 288 for LawDNet's published model "
                                    "(face crop 468x360, default), 256 for DINet's (416x320); 64/128 for the frame "
                                    "stages")
    a("--gpu_index", type=int, default=0, help="GPU to use when CUDA is available (default 0; the authors' flag)")
    a("--device", help="cpu | cuda | cuda:N | auto; overrides --gpu_index (default: cuda:<gpu_index> when "
                       "available, else cpu)")
    a("--landmarks", default="auto", choices=["auto", "face-alignment", "offline", "openface-csv"],
      help="landmarks of the template's faces: auto (face-alignment when its weights are in checkpoints/, else "
           "offline), face-alignment (S3FD + 2D-FAN), offline (OpenCV Haar + mean shape: no expression), "
           "openface-csv (an OpenFace FeatureExtraction CSV of the 25 fps template, --landmarks_csv; DINet's input)")
    a("--landmarks_csv", help="OpenFace CSV of the template video (with --landmarks openface-csv)")
    a("--template_cache", help="folder of the per-template cache (landmarks, transforms, references; default "
                               + (cache_default or "$TALKINGFACE_CACHE/lawdnet-templates or "
                                                   "~/.cache/talkingface-kit/lawdnet-templates") + ")")
    a("--seed", type=int, default=config.SEED, help=f"seed of the reference-frame choice (default {config.SEED}, "
                                                    "the authors')")
    a("--random_model", type=int, metavar="SEED",
      help="smoke tests only: a randomly initialised generator and a tiny random dp2 network instead of weights "
           "(RANDOM WEIGHTS: the output means nothing)")


def check_model_flags(args: argparse.Namespace) -> None:
    if args.mouthsize is not None and (args.mouthsize < 8 or args.mouthsize % 8):
        raise KitError(f"--mouthsize must be a positive multiple of 8 (64, 128, 256, 288), got {args.mouthsize}")
    if args.landmarks == "openface-csv" and not args.landmarks_csv:
        raise KitError("--landmarks openface-csv needs --landmarks_csv (OpenFace CSV of the template video)")
    if args.random_model is not None:
        given = [f"--{k}" for k in ("lawdnet_model_path", "deepspeech_model_path", "dp2_model_path")
                 if getattr(args, k)]
        if given:
            raise KitError(f"--random_model cannot be combined with {', '.join(given)}")


def weight_files(args: argparse.Namespace, features: str) -> dict[str, Path]:
    """The generator and feature weights the flags name (or the manifest's), every missing one reported at once."""
    from talkingface.weights import require_weights

    if args.random_model is not None:
        return {}
    feature_flag = args.deepspeech_model_path if features == "dp1" else args.dp2_model_path
    return require_weights({"generator": (GENERATOR_ENTRY[args.model], args.lawdnet_model_path),
                            "features": (FEATURE_ENTRY[features], feature_flag)})


def pick_device(args: argparse.Namespace) -> str:
    import torch

    from talkingface.device import resolve_device

    if args.device:
        return resolve_device(args.device)
    if torch.cuda.is_available() and 0 <= args.gpu_index < torch.cuda.device_count():
        return f"cuda:{args.gpu_index}"
    return "cpu"
