"""What made an output: the kit's version and the versions of everything numbers depend on, for the records written
next to generated files and evaluation results."""
from __future__ import annotations

import platform


def kit_version() -> str:
    from talkingface import __version__

    return __version__


def environment(device: str = "cpu") -> dict[str, str]:
    """Versions that numbers depend on: Python, torch, numpy, the metric libraries, the ffmpeg used for media, and
    the GPU's name when ``device`` is a CUDA device."""
    import numpy
    import torch

    env = {"python": platform.python_version(), "torch": str(torch.__version__), "numpy": numpy.__version__,
           "device": str(device)}
    if str(device).startswith("cuda"):
        env["gpu"] = torch.cuda.get_device_name(torch.device(device))
    for module in ("skimage", "scipy", "cv2", "av"):
        try:
            env[module] = str(__import__(module).__version__)
        except (ImportError, AttributeError):
            pass
    try:
        from talkingface.media import ffmpeg_version

        env["ffmpeg"] = ffmpeg_version()
    except Exception as exc:  # noqa: BLE001 — a version string is informative only
        env["ffmpeg"] = f"unknown ({type(exc).__name__})"
    return env
