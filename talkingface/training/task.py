"""What a model plugs into :func:`talkingface.training.fit`: the ``TrainTask`` protocol, the ``StepContext`` a step
gets, and the ``FitResult`` a run returns."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from talkingface.training.distributed import DistInfo
from talkingface.training.precision import Precision


@runtime_checkable
class TrainTask(Protocol):
    """A model's training: nets, one step, and its checkpoint payload in the model's own file format.

    Optional methods, used when present: ``end_epoch(epoch)`` (schedulers), ``evaluate(ctx) -> dict | None``
    (every process, at each epoch checkpoint; rank 0's values are logged), ``images(batch, out) -> dict[str,
    Tensor]`` (rank 0 only; CHW float grids in [0, 1] for TensorBoard; no collective calls in it)."""

    def modules(self) -> dict[str, Any]:
        """The nets to switch between train() and eval()."""
        ...

    def train_step(self, batch: Any, ctx: StepContext) -> dict[str, Any]:
        """Forward, backward and optimizer steps (through ``ctx.optimize``); returns scalar losses to log."""
        ...

    def state_dict(self, epoch: int) -> dict[str, Any]:
        """The checkpoint in the model's own format; the core adds one key, ``kit_resume``."""
        ...

    def load_state_dict(self, payload: dict[str, Any]) -> None:
        """Restore nets and optimizers from a payload of :meth:`state_dict` (``kit_resume`` removed)."""
        ...


@dataclass
class StepContext:
    """Where a step runs and the helpers it uses: ``autocast()``, ``optimize(loss, opts)``, ``zero_grad(opts)``."""

    dist: DistInfo
    device: str
    precision: Precision
    epoch: int = 0
    step: int = 0                   # global steps done before this one
    step_in_epoch: int = 0          # batches of this epoch done before this one

    def autocast(self):
        """Context manager: mixed precision for the forward pass per the run's precision (none for fp32)."""
        return self.precision.autocast()

    def optimize(self, loss: Any, optimizers: list[Any], parameters: Any = None) -> float | None:
        """Backward (GradScaler-aware), unscale + clip to ``grad_clip``, step each optimizer, zero their grads.

        May be called several times per step with different optimizers (generator, then discriminator); the scaler
        is updated once after the step. Returns the pre-clip gradient norm when clipping, else None."""
        return self.precision.optimize(loss, list(optimizers), parameters)

    @staticmethod
    def zero_grad(optimizers: list[Any]) -> None:
        """Set the gradients of every optimizer's parameters to None."""
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)

    def to_device(self, obj: Any) -> Any:
        """Tensors in ``obj`` (nested dicts, lists, tuples) moved to the run's device."""
        return move_to(obj, self.device)


def move_to(obj: Any, device: str) -> Any:
    """Tensors of a nested batch (dicts, lists, tuples) on ``device``; anything else as it is."""
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, dict):
        return {k: move_to(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        moved = [move_to(v, device) for v in obj]
        return type(obj)(*moved) if hasattr(obj, "_fields") else type(obj)(moved)
    return obj


@dataclass
class FitResult:
    """What a run did: epochs fully done, global steps, the newest checkpoint, and whether a signal stopped it."""

    epochs_done: int
    steps: int
    last_checkpoint: Path | None
    stopped_by_signal: bool = False
    signal_number: int | None = None
    losses: list[dict[str, float]] | None = None    # the logged rows (rank 0), as written to losses.csv
