"""The model flags both DaGAN commands share, loading the model they name, and the record of what ran.

The record (:func:`run_record`, written by :func:`write_record`) goes next to every output: the weights, the model
config, the command's options and the versions numbers depend on (:mod:`talkingface.provenance`).
"""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from talkingface.errors import KitError

GENERATORS = ("DepthAwareGenerator", "SPADEDepthAwareGenerator")


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """The flags that choose and place the model (shared by dagan.animate and dagan.generate)."""
    a = p.add_argument
    a("--config", help="model config YAML (default: the built-in vox-adv-256 settings, config/dagan/vox-adv-256.yaml)")
    a("--checkpoint", help="DaGAN checkpoint .pth.tar, authors' format, DDP 'module.' prefixes accepted "
                           "(default: manifest entry dagan_vox_adv_256 in checkpoints/)")
    a("--depth_encoder", help="depth network encoder weights_19/encoder.pth (default: manifest entry depth_encoder)")
    a("--depth_decoder", help="depth network decoder weights_19/depth.pth (default: manifest entry depth_decoder)")
    a("--kp_num", type=int, default=15, help="number of keypoints of the checkpoint (default: 15, the published model; "
                                             "-1: the config's num_kp, as for a checkpoint of python -m dagan.train)")
    a("--generator", default="DepthAwareGenerator",
      help="generator class of the checkpoint: DepthAwareGenerator (the published model, default); "
           "SPADEDepthAwareGenerator is not supported")
    a("--device", default="auto", help="auto (GPU when present) | cpu | cuda | cuda:N")
    a("--cpu", action="store_true", help="run on the CPU (same as --device cpu; the authors' flag)")
    a("--fp16", action="store_true", help="float16 autocast on CUDA (ignored on the CPU)")
    a("--batch_size", type=int, help="driving frames per network call (default: 32 on GPU, 2 on CPU, as measured)")
    a("--compile", action="store_true",
      help="torch.compile the driving batches' networks: about 1.2x the frames/s on a CPU at the same output "
           "(8e-6), after a compile of about a minute; pays for videos longer than about 30 s (dagan/speed.py)")
    a("--random_tiny_model", type=int, metavar="SEED",
      help="use a tiny randomly initialised model instead of weights (smoke tests only: RANDOM WEIGHTS, the output "
           "means nothing)")


LANDMARK_HELP = ("auto (face-alignment when its weights are present, else offline), face-alignment (S3FD boxes + "
                 "2D-FAN, what the authors used), offline (OpenCV Haar face/eyes + mean shape: head pose only)")


def add_crop_arguments(p: argparse.ArgumentParser, landmarks: bool = True) -> None:
    """The face-crop flags (shared by dagan.animate and dagan.generate); ``landmarks``: add --landmarks too."""
    a = p.add_argument
    a("--crop", default="none", choices=["none", "auto"],
      help="none: use the images as given (the authors' demo: they must already be VoxCeleb-like face crops); "
           "auto: find the face and crop source and driving the way DaGAN's VoxCeleb training data was cropped "
           "(a square 1.2x the face box, one box for the whole driving clip; docs/face_crop.md); exit 2 when the "
           "source has no face")
    a("--paste_back", action="store_true",
      help="with --crop auto: paste the animated face back into the source image (feathered seam), so the output "
           "has the source image's size (at most 2048 px on its longest side) instead of 256x256")
    a("--crop_every", type=int, default=1, metavar="K",
      help="with --crop auto: look for the face in every K-th driving frame only (faster on long videos; default 1, "
           "every frame, as the authors' crop scripts do; every frame anyway with --find_best_frame)")
    if landmarks:
        a("--landmarks", default="auto", choices=["auto", "face-alignment", "offline"],
          help=f"face detector / landmark backend for --crop auto: {LANDMARK_HELP}")


def face_crop_from_args(args: argparse.Namespace, backend=None):
    """The :class:`dagan.framing.FaceCrop` the flags ask for (``backend``: the landmark backend, needed for
    --crop auto). KitError for conflicting flags."""
    from dagan.framing import FaceCrop

    return FaceCrop(args.crop, paste_back=args.paste_back, every=args.crop_every,
                    backend=backend if args.crop == "auto" else None)


def check_crop_args(args: argparse.Namespace) -> None:
    """KitError for conflicting face-crop flags (before anything is read or loaded)."""
    if args.paste_back and args.crop != "auto":
        raise KitError("--paste_back needs --crop auto (it pastes the animated crop back where it was cut)")
    if args.crop_every < 1:
        raise KitError(f"--crop_every must be at least 1, got {args.crop_every}")


def model_device(args: argparse.Namespace) -> str:
    """The device the model flags name (for building a landmark backend before the model)."""
    from talkingface.device import resolve_device

    return resolve_device("cpu" if args.cpu else args.device)


def check_model_args(args: argparse.Namespace) -> None:
    """KitError for unsupported or conflicting model flags (before anything is read or loaded)."""
    if args.generator not in GENERATORS:
        raise KitError(f"--generator {args.generator}: unknown; the kit builds DepthAwareGenerator")
    if args.generator != "DepthAwareGenerator":
        raise KitError(f"--generator {args.generator} is not supported: the kit builds DepthAwareGenerator, the "
                       f"generator of the published DaGAN_vox_adv_256.pth.tar")
    if args.batch_size is not None and args.batch_size < 1:
        raise KitError(f"--batch_size must be at least 1, got {args.batch_size}")
    if args.random_tiny_model is not None:
        given = [f"--{k}" for k in ("config", "checkpoint", "depth_encoder", "depth_decoder") if getattr(args, k)]
        if given:
            raise KitError(f"--random_tiny_model cannot be combined with {', '.join(given)}")


def weight_files(args: argparse.Namespace) -> dict[str, Path]:
    """The three weight files the flags name (or the manifest's), all checked at once: one WeightsError lists
    every missing file with the command that gets it. Empty for --random_tiny_model."""
    from talkingface.weights import require_weights

    if args.random_tiny_model is not None:
        return {}
    return require_weights({"checkpoint": ("dagan_vox_adv_256", args.checkpoint),
                            "depth_encoder": ("depth_encoder", args.depth_encoder),
                            "depth_decoder": ("depth_decoder", args.depth_decoder)})


def model_maker(args: argparse.Namespace, files: dict[str, Path], settings: dict[str, Any]):
    """The :class:`~talkingface.generated.Maker` of outputs made with these flags: the weights by sha256 (or the
    random model's seed, labelled RANDOM WEIGHTS), the model config and ``settings`` (the motion options)."""
    from dagan.config import load_dagan_config
    from dagan.random_weights import RANDOM_LABEL
    from talkingface.config import to_dict
    from talkingface.generated import Maker, checkpoint_records

    config = to_dict(load_dagan_config(args.config))
    model_settings = {"kp_num": args.kp_num, "generator": args.generator, "fp16": bool(args.fp16),
                      "model_params": config["model_params"], "depth_params": config["depth_params"], **settings}
    if args.random_tiny_model is not None:
        return Maker("dagan", random_weights=True, label=RANDOM_LABEL,
                     settings={**model_settings, "random_seed": args.random_tiny_model, "size": "tiny"})
    return Maker("dagan", checkpoints=checkpoint_records(files), settings=model_settings)


def load_model_from_args(args: argparse.Namespace, files: dict[str, Path] | None = None):
    """(model, weights record) from the model flags (``files``: :func:`weight_files`, found again when None)."""
    from dagan import random_weights
    from dagan.model import load_model
    from talkingface.device import resolve_device

    check_model_args(args)
    device = resolve_device("cpu" if args.cpu else args.device)
    if args.random_tiny_model is not None:
        label = random_weights.RANDOM_LABEL
        logging.getLogger("dagan").warning("%s (tiny DaGAN, seed %d)", label, args.random_tiny_model)
        model = random_weights.random_model(args.random_tiny_model, tiny=True, device=device, fp16=args.fp16,
                                            batch_size=args.batch_size)
        if getattr(args, "compile", False):
            model.compile_batch_path()
        return model, {"random": True, "label": label, "seed": args.random_tiny_model, "size": "tiny"}
    files = files if files is not None else weight_files(args)
    model = load_model(files["checkpoint"], files["depth_encoder"], files["depth_decoder"], config=args.config,
                       kp_num=None if args.kp_num == -1 else args.kp_num, device=device, fp16=args.fp16,
                       batch_size=args.batch_size)
    if getattr(args, "compile", False):
        model.compile_batch_path()
    return model, {"random": False, **{k: str(v) for k, v in files.items()}, "config": args.config}


def run_record(model, weights: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """What ran, for the record written next to outputs: weights, model config, options, versions."""
    from talkingface.config import to_dict
    from talkingface.provenance import environment, kit_version

    return {
        "weights": weights,
        "options": options,
        "model": {"device": str(model.device), "fp16": model.fp16, "batch_size": model.batch_size,
                  "channels_last": model.channels_last, "compiled": model.compiled is not None,
                  **{k: v for k, v in to_dict(model.config).items() if k in ("model_params", "depth_params")}},
        "versions": {"talkingface_kit": kit_version(), **environment(str(model.device))},
    }


def write_record(record: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write a run record as YAML, atomically (unicode kept readable)."""
    import yaml

    from talkingface.fsutil import write_text_atomic

    return write_text_atomic(path, yaml.safe_dump(record, sort_keys=False, allow_unicode=True))
