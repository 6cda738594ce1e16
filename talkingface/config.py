"""YAML configs loaded into dataclasses, with dotted overrides, and the resolved config written next to outputs.

    cfg = load_config("config/dagan/vox-adv-256.yaml", DaganConfig, overrides=["model.kp_num=10"])
    save_resolved(cfg, out_dir)            # -> out_dir/config.resolved.yaml

Unknown keys are errors (a typo in a YAML file must not be silently ignored). Nested dataclass fields are built
from nested mappings; lists and dicts are taken as they are. Fields typed ``int``, ``float`` or ``bool`` (or those
or None) are checked: an int is a float too, and a number YAML 1.1 reads as text (``1e-4``, ``--set lr=1e-12``: no
dot) is converted; anything else is a ConfigError naming the key.
"""
from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, Iterable, TypeVar

import yaml

from talkingface.errors import ConfigError
from talkingface.fsutil import write_bytes_atomic

T = TypeVar("T")


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str = "config") -> T:
    """Build dataclass ``cls`` from a mapping, recursing into dataclass-typed fields; unknown keys raise."""
    data = dict(data or {})
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; expected some of {', '.join(sorted(known))}")
    kwargs = {}
    for name, value in data.items():
        hint = hints.get(name)
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = from_dict(hint, value, f"{where}.{name}")
        kwargs[name] = _checked_scalar(hint, value, f"{where}: {name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


_SCALARS = {int: "an integer", float: "a number", bool: "true or false"}


def _checked_scalar(hint: Any, value: Any, what: str) -> Any:
    """``value`` for a field typed ``hint``: checked (and converted) when the hint is int, float or bool, or a union
    of them and None; any other hint takes the value as it is."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    scalars = [t for t in options if t in _SCALARS]
    nullable = type(None) in options
    if not scalars or len(scalars) + nullable != len(options) or (value is None and nullable):
        return value
    for kind in scalars:
        if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            return value
    if float in scalars and not isinstance(value, bool):
        try:
            return float(value)              # an int, or a number YAML 1.1 left as text (1e-4)
        except (TypeError, ValueError):
            pass
    wanted = " or ".join(_SCALARS[k] for k in scalars) + (" or null" if nullable else "")
    raise ConfigError(f"{what} must be {wanted}, got {value!r}")


def to_dict(cfg: Any) -> dict[str, Any]:
    """A plain, YAML-serialisable dict of a dataclass (Paths become strings)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(dataclasses.asdict(cfg))


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides (value parsed as YAML) to a nested mapping, in place; returns it."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not of the form key.sub=value")
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a section")
        node[parts[-1]] = yaml.safe_load(raw)
    return data


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, found {type(data).__name__}")
    return data


def load_config(path: str | os.PathLike | None, cls: type[T], overrides: Iterable[str] = ()) -> T:
    """Load ``path`` (or the dataclass defaults when None) into ``cls`` after dotted ``overrides``."""
    data = read_yaml(path) if path is not None else to_dict(cls())
    apply_overrides(data, overrides)
    return from_dict(cls, data, where=str(path or cls.__name__))


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text to ``path`` through a temporary file in the same folder and a rename."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def save_resolved(cfg: Any, out_dir: str | os.PathLike, name: str = "config.resolved.yaml") -> Path:
    """Write the config that actually ran next to the outputs it produced."""
    data = to_dict(cfg) if dataclasses.is_dataclass(cfg) else cfg
    return write_atomic(Path(out_dir) / name, yaml.safe_dump(data, sort_keys=False))
