"""``resolve_device``: the one way every library function and CLI turns ``auto | cpu | cuda | cuda:N`` into a device."""
from __future__ import annotations

from talkingface.errors import ConfigError

DEVICE_HELP = "auto (the GPU when present) | cpu | cuda | cuda:N"


def resolve_device(device=None) -> str:
    """``"auto"`` / None → ``"cuda"`` when a GPU is present, else ``"cpu"``; ``"cpu"``, ``"cuda"``, ``"cuda:N"`` (or a
    ``torch.device``) as they are. A name that is no device, or CUDA asked for without a GPU (or with fewer GPUs than
    N + 1), is a ConfigError saying what to pass instead."""
    import torch

    if device is None or str(device) == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device {device!r} is not a device; use {DEVICE_HELP}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {device!r} is not supported; use {DEVICE_HELP}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} asked for but no CUDA GPU is available here (use --device cpu "
                              f"or auto)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return str(dev)
