"""``Precision``: autocast and the GradScaler of a run (fp32, bf16, fp16), and the scaler-aware optimizer step.

fp16 runs on CUDA only, with a GradScaler owned here (saved in ``kit_resume["scaler"]``); bf16 autocasts on CUDA
and, slowly, on the CPU (torch's CPU autocast); fp32 does neither.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from talkingface.errors import ConfigError


class Precision:
    """Autocast context and gradient scaling for one device and precision name."""

    def __init__(self, name: str, device: str, grad_clip: float | None = None):
        import torch

        self.name, self.device_type, self.grad_clip = name, torch.device(device).type, grad_clip
        if name == "fp16" and self.device_type != "cuda":
            raise ConfigError("precision fp16 needs a CUDA GPU (fp16 autocast with a GradScaler); use bf16 or fp32 "
                              "on the CPU")
        if name not in ("fp32", "bf16", "fp16"):
            raise ConfigError(f"precision must be fp32, bf16 or fp16, got {name!r}")
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(name)
        self.scaler = torch.amp.GradScaler("cuda", enabled=True) if name == "fp16" else None
        self._stepped = False

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Mixed precision for the forward pass (nothing for fp32)."""
        import torch

        if self.dtype is None:
            yield
            return
        with torch.autocast(device_type=self.device_type, dtype=self.dtype):
            yield

    def optimize(self, loss: Any, optimizers: list[Any], parameters: Iterable[Any] | None = None) -> float | None:
        """Backward of ``loss`` (scaled for fp16), unscale + clip the gradient norm when ``grad_clip`` is set, step
        every optimizer, zero their gradients. Returns the gradient norm before clipping (None without clipping)."""
        import torch

        scaler = self.scaler
        (scaler.scale(loss) if scaler is not None else loss).backward()
        norm = None
        if self.grad_clip is not None:
            if scaler is not None:
                for opt in optimizers:
                    scaler.unscale_(opt)
            params = list(parameters) if parameters is not None else [
                p for opt in optimizers for group in opt.param_groups for p in group["params"]]
            norm = float(torch.nn.utils.clip_grad_norm_(params, self.grad_clip))
        for opt in optimizers:
            if scaler is not None:
                scaler.step(opt)
            else:
                opt.step()
            opt.zero_grad(set_to_none=True)
        self._stepped = True
        return norm

    def end_step(self) -> None:
        """After a training step: one ``scaler.update()`` for all the optimizers it stepped (fp16)."""
        if self.scaler is not None and self._stepped:
            self.scaler.update()
        self._stepped = False

    def state_dict(self) -> dict[str, Any] | None:
        """The GradScaler's state (plain numbers) or None."""
        return self.scaler.state_dict() if self.scaler is not None else None

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        """Restore the GradScaler (a checkpoint of another precision leaves it at its defaults)."""
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
