"""Checkpoint files of a run: atomic, collective writing (rank 0 writes, all agree on success), finding the newest
checkpoint of a run folder, and reading one back with ``weights_only=True``."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from talkingface.errors import ConfigError, OutputError, WeightsError, describe_os_error
from talkingface.fsutil import remove_quietly, temp_sibling
from talkingface.training.distributed import DistInfo, all_reduce_max
from talkingface.training.state import KIT_KEY
from talkingface.weights import load_torch

# torch's zip writer reports a short write (a full disk) as a RuntimeError, e.g. "[enforce fail at
# inline_container.cc:672] . unexpected pos 230021248 vs 230021140" or "PytorchStreamWriter failed writing file".
_TORCH_WRITE_ERRORS = ("unexpected pos", "failed writing", "write")


def _is_write_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) or any(m in str(exc).lower() for m in _TORCH_WRITE_ERRORS)


def _free_space(folder: Path) -> str:
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""
    return f" ({free / 2**20:.0f} MiB free in {folder})"


def _reason(exc: BaseException, folder: Path) -> str:
    if isinstance(exc, OSError):
        text = exc.strerror or describe_os_error(exc)
    else:
        text = "torch's writer stopped short: " + (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
    return text + _free_space(folder)


def save_atomic(payload: dict[str, Any], path: Path, previous: Path | None) -> Path:
    """``torch.save`` into a temporary sibling, fsync, rename onto ``path``. On a failed write (a full disk: an
    OSError, or torch's RuntimeError from its zip writer) the temporary file is removed, ``path`` and ``previous``
    are untouched, and one OutputError line names both."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        tmp = temp_sibling(path)
        with open(tmp, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except (OSError, RuntimeError) as exc:
        if not _is_write_error(exc):
            raise
        prev = (f"the previous checkpoint {previous} is intact" if previous is not None and previous.exists()
                else "there is no previous checkpoint")
        raise OutputError(f"cannot write checkpoint {path}: {_reason(exc, path.parent)}; {prev}") from None
    finally:
        remove_quietly(tmp)
    return path


def write_collective(payload: dict[str, Any] | None, path: Path, previous: Path | None, dist: DistInfo) -> Path:
    """Rank 0 writes ``payload`` (:func:`save_atomic`); every process learns whether it worked (an OutputError on
    all of them if not), so no process waits forever for a rank 0 that failed."""
    error: OutputError | None = None
    if dist.is_main:
        try:
            save_atomic(payload, path, previous)
        except OutputError as exc:
            error = exc
    failed = all_reduce_max([1.0 if error is not None else 0.0], dist)[0] > 0
    if error is not None:
        raise error
    if failed:
        raise OutputError(f"cannot write checkpoint {path}: rank 0 failed to write it (see its log)")
    return path


def epoch_pattern(name: str) -> re.Pattern[str]:
    """A regex matching the file names of ``epoch_checkpoint_name`` (``{epoch:08d}`` → digits)."""
    parts = re.split(r"\{epoch[^}]*\}", name)
    return re.compile(r"\d+".join(re.escape(p) for p in parts) + r"\Z")


def read_kit(path: Path) -> dict[str, Any] | None:
    """The ``kit_resume`` entry of a checkpoint without reading its tensors (memory-mapped), or None when the file
    has none or cannot be read."""
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - any unreadable file simply is no candidate
        return None
    kit = payload.get(KIT_KEY) if isinstance(payload, dict) else None
    return kit if isinstance(kit, dict) else None


def checkpoints_in(run_dir: Path, epoch_name: str, last_name: str) -> list[Path]:
    """The run folder's last and epoch checkpoints (temporary files of interrupted writes are hidden, skipped)."""
    pattern = epoch_pattern(epoch_name)
    if not run_dir.is_dir():
        return []
    return sorted(p for p in run_dir.iterdir() if p.is_file() and (p.name == last_name or pattern.match(p.name)))


def newest_checkpoint(run_dir: str | os.PathLike, epoch_name: str = "{epoch:08d}-checkpoint.pth.tar",
                      last_name: str = "last-checkpoint.pth.tar") -> Path | None:
    """The checkpoint of ``run_dir`` with the highest ``kit_resume`` global step (the last one on a tie), or None."""
    best: tuple[int, int, Path] | None = None
    for path in checkpoints_in(Path(run_dir), epoch_name, last_name):
        kit = read_kit(path)
        if kit is not None:
            key = (int(kit.get("global_step", -1)), int(path.name == last_name), path)
            best = key if best is None or key[:2] > best[:2] else best
    return best[2] if best else None


def resolve_resume(resume: str | os.PathLike, epoch_name: str, last_name: str) -> Path:
    """A checkpoint file as is; a run folder → its newest checkpoint; ConfigError if there is none."""
    path = Path(resume)
    if path.is_dir():
        found = newest_checkpoint(path, epoch_name, last_name)
        if found is None:
            raise ConfigError(f"{path}: no checkpoint with {KIT_KEY} to resume from (looked for {last_name} and "
                              f"{epoch_name})")
        return found
    if not path.exists():
        raise ConfigError(f"resume: {path} does not exist (give a checkpoint file or a run folder)")
    return path


def load_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the model's payload without ``kit_resume``, ``kit_resume``) of a checkpoint, loaded with weights_only."""
    payload = load_torch(path, map_location="cpu")
    if not isinstance(payload, dict):
        raise WeightsError(f"{path}: a training checkpoint is a dict, got a {type(payload).__name__}")
    payload = dict(payload)
    kit = payload.pop(KIT_KEY, None)
    if kit is None:
        raise ConfigError(f"{path}: has no {KIT_KEY} entry (not written by talkingface.training), so the run cannot "
                          f"continue from it exactly; load its weights into the model instead")
    return payload, kit
