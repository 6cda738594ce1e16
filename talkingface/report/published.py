"""Published numbers of the papers the kit reproduces: ``config/reference/<id>.yaml`` loaded into dataclasses.

One file is one row of one paper table (a method on a dataset in a setting). Every value says which kit metric and
protocol option it matches, its direction, whether someone checked it against a source they read (``verified`` with
``source_kind`` paper / secondary / repository and ``source``: URL + what it says) and a note. A value nobody could
retrieve is ``value: null`` with a note, never a guess. Schema (docs/reports.md, "Comparing with the papers")::

    id: dagan-vox
    paper: {title, venue, url, authors?, code?}
    method, table, dataset, split, setting: same-id reconstruction | cross-id reenactment | lip-sync
    n: null | int, n_unit, n_note, note
    metrics: {kit metric: {value, unit, direction: higher|lower, protocol, verified, source_kind?, source?,
                           printed?, protocol_note?, note?}}
    other_metrics: {name the paper prints that the kit does not compute: note}

Unknown keys, unknown metric names, a missing value, a direction that contradicts the metric's spec, or a protocol
the metric does not have are one-line errors naming the file and the key.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from talkingface.config import from_dict, read_yaml
from talkingface.errors import ConfigError, KitError
from talkingface.metrics.protocols import LSE_MODES, NIQE_PROTOCOLS, SPECS, SSIM_PROTOCOLS

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "config" / "reference"
SETTINGS = ("same-id reconstruction", "cross-id reenactment", "lip-sync")
SOURCE_KINDS = ("paper", "secondary", "repository")
DEFAULT = "default"
#: metric -> (evaluate flag that picks the protocol, {option: protocol text}); other metrics have one protocol
OPTIONS = {"ssim": ("--ssim_protocol", SSIM_PROTOCOLS), "niqe": ("--niqe_variant", NIQE_PROTOCOLS),
           "lse_c": ("--lse_mode", {m: m for m in LSE_MODES}), "lse_d": ("--lse_mode", {m: m for m in LSE_MODES})}


@dataclass(frozen=True)
class Paper:
    title: str
    venue: str
    url: str
    authors: str = ""
    code: str = ""


@dataclass(frozen=True)
class PublishedValue:
    """One number of a paper table, on the kit's scale (SSIM printed as 80.4 % is 0.804 with ``printed: 80.4 %``)."""

    value: Optional[float]
    unit: str
    direction: str                 # "higher" or "lower" is better; must agree with the metric's spec
    protocol: str                  # the kit's option that matches (ssim: fomm | standard, …) or "default"
    verified: bool
    source_kind: str = ""          # paper | secondary | repository (required when verified)
    source: str = ""               # URL + what it says (required when verified)
    printed: str = ""              # the number as the paper prints it, when that differs from ``value``
    protocol_note: str = ""        # how the paper's protocol differs from the kit's even when the option matches
    note: str = ""
    metric: str = ""               # filled in by the loader

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "lower"

    @property
    def decimals(self) -> int:
        """Decimals of ``value`` as printed: ``80.4 %`` of 0.804 → 3; ``0.140`` → 3; else from the value."""
        if self.printed:
            num = re.search(r"-?\d+(?:\.(\d+))?", self.printed)
            if num and self.value:
                scale = round(math.log10(abs(float(num.group(0)) / self.value))) if float(num.group(0)) else 0
                return max(len(num.group(1) or "") + scale, 0)
        text = repr(float(self.value)) if self.value is not None else "0"
        return len(text.split(".")[1]) if "." in text and "e" not in text else 3


@dataclass(frozen=True)
class PublishedTable:
    id: str
    paper: Paper
    method: str
    table: str
    dataset: str
    split: str
    setting: str
    metrics: dict = field(default_factory=dict)        # kit metric -> PublishedValue, in file order
    n: Optional[int] = None
    n_unit: str = ""
    n_note: str = ""
    note: str = ""
    other_metrics: dict = field(default_factory=dict)  # metric the kit does not compute -> note
    path: str = ""

    @property
    def title(self) -> str:
        return f"{self.paper.title} ({self.paper.venue}), {self.table}: {self.method} on {self.dataset} {self.split}"


def _value(data, where: str) -> PublishedValue:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping (value, unit, direction, protocol, verified, …)")
    required = [f.name for f in dataclasses.fields(PublishedValue)
                if f.default is dataclasses.MISSING and f.name != "metric"]
    missing = [k for k in required if k not in data]
    if missing:
        hint = " (write value: null with a note when the paper's value is unknown)" if "value" in missing else ""
        raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}{hint}")
    if "metric" in data:
        raise ConfigError(f"{where}: unknown key(s) metric; the metric is the mapping's key")
    return from_dict(PublishedValue, data, where)


def _check_value(v: PublishedValue, name: str, where: str) -> None:
    spec = SPECS[name]
    if v.value is not None and (isinstance(v.value, bool) or not isinstance(v.value, (int, float))):
        raise ConfigError(f"{where}.value: expected a number or null, got {v.value!r}")
    if v.value is None and not v.note:
        raise ConfigError(f"{where}.note: a null value needs a note saying why (not retrieved, not reported, …)")
    if v.direction not in ("higher", "lower"):
        raise ConfigError(f"{where}.direction: expected higher or lower, got {v.direction!r}")
    if v.lower_is_better != spec.lower_is_better:
        raise ConfigError(f"{where}.direction: {v.direction} contradicts the kit's {name} "
                          f"({'lower' if spec.lower_is_better else 'higher'} is better)")
    choices = tuple(OPTIONS[name][1]) if name in OPTIONS else (DEFAULT,)
    if v.protocol not in choices:
        raise ConfigError(f"{where}.protocol: {v.protocol!r} is not a {name} protocol; known: {', '.join(choices)}")
    if not isinstance(v.verified, bool):
        raise ConfigError(f"{where}.verified: expected true or false, got {v.verified!r}")
    if v.verified and (v.source_kind not in SOURCE_KINDS or not v.source):
        raise ConfigError(f"{where}.source: a verified value needs source_kind ({', '.join(SOURCE_KINDS)}) and "
                          "source (URL + what it says)")
    if v.source_kind and v.source_kind not in SOURCE_KINDS:
        raise ConfigError(f"{where}.source_kind: {v.source_kind!r}; known: {', '.join(SOURCE_KINDS)}")


def load_table(path) -> PublishedTable:
    """One reference YAML → PublishedTable; ConfigError (one line, file and key) when it is not valid."""
    path = Path(path)
    data = read_yaml(path)
    where = str(path)
    metrics_raw = data.pop("metrics", None)
    if not isinstance(metrics_raw, dict) or not metrics_raw:
        raise ConfigError(f"{where}: metrics: expected a mapping of kit metric -> value ({', '.join(SPECS)})")
    paper_raw = data.get("paper")
    if not isinstance(paper_raw, dict):
        raise ConfigError(f"{where}: paper: expected a mapping (title, venue, url, authors, code)")
    data["paper"] = from_dict(Paper, paper_raw, f"{where}: paper")
    metrics = {}
    for name, raw in metrics_raw.items():
        if name not in SPECS:
            close = difflib.get_close_matches(str(name), list(SPECS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{where}: metrics.{name}: unknown metric{hint}; kit metrics: {', '.join(SPECS)} "
                              "(list a metric the kit does not compute under other_metrics)")
        key = f"{where}: metrics.{name}"
        value = _value(raw, key)
        _check_value(value, name, key)
        metrics[name] = dataclasses.replace(value, metric=name)
    if "path" in data:
        raise ConfigError(f"{where}: unknown key(s) path")
    table = from_dict(PublishedTable, {**data, "metrics": metrics, "path": str(path)}, where)
    if table.setting not in SETTINGS:
        raise ConfigError(f"{where}: setting: {table.setting!r}; known: {', '.join(SETTINGS)}")
    if table.id != path.stem:
        raise ConfigError(f"{where}: id: {table.id!r} differs from the file name {path.stem!r}")
    if table.n is not None and (isinstance(table.n, bool) or not isinstance(table.n, int) or table.n < 1):
        raise ConfigError(f"{where}: n: expected a positive integer or null, got {table.n!r}")
    if not isinstance(table.other_metrics, dict):
        raise ConfigError(f"{where}: other_metrics: expected a mapping of name -> note")
    return table


def known_tables(folder=None) -> dict[str, PublishedTable]:
    """Every ``<id>.yaml`` under ``folder`` (default config/reference), by id, sorted."""
    folder = Path(folder) if folder else REFERENCE_DIR
    if not folder.is_dir():
        raise KitError(f"{folder}: no reference folder (the published numbers ship in config/reference/)")
    return {t.id: t for t in (load_table(p) for p in sorted(folder.glob("*.yaml")))}


def get_table(table_id: str, folder=None) -> PublishedTable:
    """The table ``table_id``; a KitError listing the known ids (with a did-you-mean) when there is none."""
    tables = known_tables(folder)
    if table_id in tables:
        return tables[table_id]
    close = difflib.get_close_matches(str(table_id), list(tables), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise KitError(f"unknown paper table {table_id!r}{hint}; known: {', '.join(tables)} "
                   "(`--paper list` describes them)")


def tables_listing(folder=None) -> str:
    """``--paper list``: one line per table: id, method, dataset, setting, paper, and how many values are verified."""
    lines = ["Published tables (config/reference/; `report RESULTS --paper ID`):", ""]
    for t in known_tables(folder).values():
        known = [v for v in t.metrics.values() if v.value is not None]
        verified = sum(v.verified for v in known)
        lines.append(f"- {t.id}: {t.method} on {t.dataset} {t.split} ({t.setting}); {t.paper.title}, "
                     f"{t.paper.venue}, {t.table}; metrics {', '.join(t.metrics)}; {len(known)} values, "
                     f"{verified} verified")
    return "\n".join(lines) + "\n"
