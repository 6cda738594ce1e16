"""Weight files on disk: ``load_torch`` (safe, one clear error per bad file), ``save_torch`` (atomic), and strict
state-dict loading that names the keys that do not fit.

    from talkingface.weights import load_torch, weight_path
    state = load_torch(weight_path("syncnet_v2"))          # WeightsError naming the file if missing or damaged
"""
from __future__ import annotations

import contextlib
import os
import pickle
import re
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from talkingface.errors import WeightsError
from talkingface.fsutil import atomic_path
from talkingface.weights.manifest import STATUS_HINT


# ------------------------------------------------------------------------------------------------- torch files
def _sniff(head: bytes) -> str:
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype", b"<html")):
        return "an HTML page (a download link that answered with a web page, e.g. a sign-in or confirm page)"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")):
        return "a compressed archive; unpack it first"
    if head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        return "text"
    return "an unknown binary format"


def _check_zip(path: Path) -> None:
    """Truncation and CRC damage of a torch zip checkpoint (torch.load itself does not check CRCs)."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: truncated or damaged checkpoint (zip: {exc}); {STATUS_HINT}") from None
    if bad is not None:
        raise WeightsError(f"{path}: damaged checkpoint, CRC mismatch in record {bad!r} (tampered or corrupted)")


def load_torch(path: str | os.PathLike, map_location: Any = "cpu", *, safe_globals: Iterable[Any] = (),
               check_crc: bool = True) -> Any:
    """``torch.load(path, weights_only=True)`` with one clear WeightsError naming the file for every bad file.

    Missing, empty, directory, text/HTML, truncated, CRC-damaged (checked before loading when ``check_crc``) and
    files whose unpickling would need code execution all raise. ``safe_globals`` allow-lists classes a trusted
    checkpoint needs (``torch.serialization.safe_globals``).
    """
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"weights missing: {path}, {STATUS_HINT}")
    if path.is_dir():
        raise WeightsError(f"{path}: is a directory, expected a weights file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise WeightsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise WeightsError(f"{path}: empty file (0 bytes); delete it and fetch it again")
    if head.startswith(b"PK\x03\x04"):
        if check_crc:
            _check_zip(path)
    elif head[:1] != b"\x80":
        raise WeightsError(f"{path}: not a PyTorch checkpoint, the file is {_sniff(head)}")
    import torch

    allow = list(safe_globals)
    ctx = torch.serialization.safe_globals(allow) if allow else contextlib.nullcontext()
    try:
        with ctx:
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "Weights only load failed" in text:
            found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
            what = f" ({found.group(1)})" if found else ""
            raise WeightsError(
                f"{path}: refused by torch.load(weights_only=True): unpickling it would run code{what}; the kit "
                f"loads plain tensors and containers only (a trusted file's classes can be allow-listed with "
                f"safe_globals)"
            ) from None
        raise WeightsError(f"{path}: not a PyTorch checkpoint or damaged ({text.splitlines()[0][:200]})") from None
    except (RuntimeError, EOFError, OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise WeightsError(
            f"{path}: cannot be loaded, truncated or damaged? ({type(exc).__name__}: {first}); {STATUS_HINT}"
        ) from None


def save_torch(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` in torch's default zip format through a temporary file and a rename (never half-written)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, fsync=True) as tmp:
        torch.save(obj, tmp)
    return path


# ------------------------------------------------------------------------------------------------- state dicts
_SHOWN = 3  # how many offending keys an error message lists


def format_keys(keys: Iterable[str]) -> str:
    """At most three key names, sorted, and how many more (for one-line errors)."""
    keys = sorted(keys)
    more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


def strip_ddp_prefix(state: Mapping[str, Any]) -> OrderedDict[str, Any]:
    """Remove the ``module.`` prefix that DistributedDataParallel adds to every key."""
    return OrderedDict((k.removeprefix("module."), v) for k, v in state.items())


def load_state_dict_file(path: str | os.PathLike, what: str = "state dict") -> dict[str, Any]:
    """:func:`load_torch` of a file that must hold a plain, non-empty state dict of tensors (``what`` names the
    expected format in the error, e.g. ``"syncnet_v2.model state dict"``)."""
    import torch

    obj = load_torch(path, map_location="cpu")
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        keys = f" with keys {format_keys(map(str, obj))}" if isinstance(obj, Mapping) and obj else ""
        raise WeightsError(f"{path}: not a plain {what} of tensors: got a {type(obj).__name__}{keys}")
    return dict(obj)


def load_state_strict(module, state: Mapping[str, Any], path: str | os.PathLike, what: str = "the state dict", *,
                      optional_suffixes: tuple[str, ...] = (), assign: bool = False) -> None:
    """Load ``state`` into ``module`` requiring identical key names and shapes, else one WeightsError naming the
    file, ``what`` it is, and the missing / unexpected / misshapen keys. Keys ending in ``optional_suffixes`` may be
    absent (the module keeps its own, e.g. ``.num_batches_tracked`` of files saved without them). ``assign=True``
    takes the tensors over (a module built on the meta device: no init, no copy)."""
    import torch

    if not isinstance(state, Mapping):
        raise WeightsError(f"{path}: {what} is a {type(state).__name__}, expected a state dict")
    expected = module.state_dict()
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    not_tensors = sorted(set(state) - set(tensors))
    missing = sorted(k for k in set(expected) - set(tensors) if not k.endswith(optional_suffixes or ("\0",)))
    unexpected = sorted(set(tensors) - set(expected))
    shapes = [f"{k} {list(tensors[k].shape)} (expected {list(expected[k].shape)})"
              for k in expected if k in tensors and tensors[k].shape != expected[k].shape]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {format_keys(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {format_keys(unexpected)}")
    if not_tensors:
        problems.append(f"non-tensor entries: {format_keys(not_tensors)}")
    if shapes:
        problems.append(f"{len(shapes)} shape mismatch(es): {'; '.join(shapes[:_SHOWN])}")
    if problems:
        raise WeightsError(f"{path}: {what} does not match the {type(module).__name__} the kit builds: "
                           + "; ".join(problems))
    for key in set(expected) - set(tensors):      # optional keys the file lacks: keep the module's own
        tensors[key] = expected[key]
    module.load_state_dict(tensors, strict=True, assign=assign)
