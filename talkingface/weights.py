"""The external weight files of ``checkpoints/manifest.yaml``: locate, check and load them.

    from talkingface.weights import weight_path, load_torch
    state = load_torch(weight_path("syncnet_v2"))          # WeightsError naming the file if missing or damaged

Where things are:

* the manifest: ``$TALKINGFACE_MANIFEST``, else ``checkpoints/manifest.yaml`` of the repository this package sits in,
  else ``$TALKINGFACE_CHECKPOINTS/manifest.yaml``. There is one copy, in the repository.
* the weight files: ``$TALKINGFACE_CHECKPOINTS``, else the folder holding the manifest. A file found there wins; an
  entry with ``hub_name`` may also be found in torch.hub's cache (``$TORCH_HOME/hub/checkpoints``), and one with
  ``package_file`` inside the installed pip package that ships it (LPIPS's ``alex.pth``).

Digest checks and downloads: :mod:`talkingface.weights_fetch`; CLI: :mod:`talkingface.cli.weights`.
torch is imported only to load or save.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import pickle
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from talkingface.errors import WeightsError
from talkingface.fsutil import temp_sibling

MANIFEST_ENV = "TALKINGFACE_MANIFEST"
CHECKPOINTS_ENV = "TALKINGFACE_CHECKPOINTS"
STATUS_HINT = "see `python -m talkingface weights status`"
REPO_ROOT = Path(__file__).resolve().parents[1]
_NAME_RE = re.compile(r"^[a-z0-9_]+$")
_HEX = {"sha256": ("[0-9a-f]{64}", "64"), "md5": ("[0-9a-f]{32}", "32"), "sha256_prefix": ("[0-9a-f]{6,63}", "6 to 63")}


@dataclasses.dataclass(frozen=True)
class WeightEntry:
    """One file of the manifest (see the field list at the top of ``checkpoints/manifest.yaml``)."""

    name: str
    description: str
    path: str
    stages: tuple[str, ...]
    licence: str
    source: str
    size: int | None = None
    sha256: str | None = None
    sha256_prefix: str | None = None
    md5: str | None = None
    urls: tuple[str, ...] = ()
    extract: str | None = None
    manual: str | None = None
    package_file: str | None = None
    hub_name: str | None = None
    note: str | None = None

    def target(self, root: str | os.PathLike | None = None) -> Path:
        """Where the file belongs in the checkpoints folder (``root`` or :func:`checkpoints_dir`)."""
        return Path(root if root is not None else checkpoints_dir()) / self.path

    @property
    def digest_kind(self) -> str:
        """What a published digest lets ``verify`` check: sha256, md5, sha256 prefix, or nothing."""
        if self.sha256:
            return "sha256"
        if self.md5:
            return "md5"
        if self.sha256_prefix:
            return "sha256 prefix"
        return "none published"


# --------------------------------------------------------------------------------------------------- the manifest
def manifest_path() -> Path:
    """The manifest in use (it may not exist; :func:`load_manifest` says so)."""
    env = os.environ.get(MANIFEST_ENV)
    if env:
        return Path(env).expanduser()
    candidates = [REPO_ROOT / "checkpoints" / "manifest.yaml"]
    if os.environ.get(CHECKPOINTS_ENV):
        candidates.append(Path(os.environ[CHECKPOINTS_ENV]).expanduser() / "manifest.yaml")
    return next((c for c in candidates if c.is_file()), candidates[0])


def checkpoints_dir() -> Path:
    """``$TALKINGFACE_CHECKPOINTS``, else the folder holding the manifest (``<repo>/checkpoints``)."""
    env = os.environ.get(CHECKPOINTS_ENV)
    return Path(env).expanduser() if env else manifest_path().parent


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise WeightsError(f"weights manifest not found: {path} (set {MANIFEST_ENV} to the kit's manifest.yaml)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise WeightsError(f"{path}: expected a mapping with `version`, `stages` and `weights`")
    return data


def _entry(manifest: Path, name: str, raw: Any, stages: set[str]) -> WeightEntry:
    where = f"{manifest}: weights.{name}"
    if not _NAME_RE.match(str(name)):
        raise WeightsError(f"{where}: names use lower-case letters, digits and underscores only")
    if not isinstance(raw, dict):
        raise WeightsError(f"{where}: expected a mapping of fields")
    fields = {f.name for f in dataclasses.fields(WeightEntry)} - {"name"}
    unknown = sorted(set(raw) - fields)
    if unknown:
        raise WeightsError(f"{where}: unknown field(s) {', '.join(unknown)}")
    missing = [k for k in ("description", "path", "stages", "licence", "source") if not raw.get(k)]
    if missing:
        raise WeightsError(f"{where}: missing {', '.join(missing)}")
    values = dict(raw)
    rel = Path(str(values["path"]))
    if rel.is_absolute() or ".." in rel.parts:
        raise WeightsError(f"{where}.path: must be relative to the checkpoints folder, without '..'")
    if not isinstance(values["stages"], list) or not set(values["stages"]) <= stages:
        raise WeightsError(f"{where}.stages: expected a list of {', '.join(sorted(stages))}")
    size = values.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise WeightsError(f"{where}.size: expected a byte count or null")
    for key, (pattern, wanted) in _HEX.items():
        if values.get(key) is not None and not re.fullmatch(pattern, str(values[key])):
            raise WeightsError(f"{where}.{key}: expected {wanted} lower-case hex digits or null")
    prefix = values.get("sha256_prefix")
    if prefix and values.get("sha256") and not values["sha256"].startswith(prefix):
        raise WeightsError(f"{where}: sha256 does not start with sha256_prefix")
    urls = values.get("urls") or []
    if not isinstance(urls, list) or not all(re.match(r"https?://", str(u)) for u in urls):
        raise WeightsError(f"{where}.urls: expected a list of http(s) URLs")
    if values.get("extract") and not urls:
        raise WeightsError(f"{where}.extract: needs an archive URL in `urls`")
    if not (urls or values.get("manual") or values.get("package_file")):
        raise WeightsError(f"{where}: needs `urls`, `manual` steps or a `package_file`")
    values["stages"] = tuple(values["stages"])
    values["urls"] = tuple(str(u) for u in urls)
    values["path"] = rel.as_posix()
    for key in ("description", "licence", "source", "manual", "note", "extract", "package_file", "hub_name"):
        if values.get(key) is not None:
            values[key] = str(values[key]).strip()
    return WeightEntry(name=str(name), **values)


def load_stages(path: str | os.PathLike | None = None) -> dict[str, str]:
    """The manifest's stage names and what each stage is."""
    manifest = Path(path) if path is not None else manifest_path()
    stages = _read_yaml(manifest).get("stages")
    if not isinstance(stages, dict) or not stages:
        raise WeightsError(f"{manifest}: `stages` must map stage names to descriptions")
    return {str(k): str(v) for k, v in stages.items()}


def load_manifest(path: str | os.PathLike | None = None) -> dict[str, WeightEntry]:
    """Every entry of the manifest, validated, in file order. A malformed manifest raises WeightsError."""
    manifest = Path(path) if path is not None else manifest_path()
    data = _read_yaml(manifest)
    unknown = sorted(set(data) - {"version", "stages", "weights"})
    if unknown:
        raise WeightsError(f"{manifest}: unknown top-level key(s) {', '.join(unknown)}")
    if data.get("version") != 1:
        raise WeightsError(f"{manifest}: unsupported manifest version {data.get('version')!r} (expected 1)")
    stages = set(load_stages(manifest))
    weights = data.get("weights")
    if not isinstance(weights, dict) or not weights:
        raise WeightsError(f"{manifest}: `weights` must map names to entries")
    entries = {str(name): _entry(manifest, name, raw, stages) for name, raw in weights.items()}
    paths = [e.path for e in entries.values()]
    if len(set(paths)) != len(paths):
        raise WeightsError(f"{manifest}: two entries share a path")
    return entries


def get_entry(name: str, manifest: dict[str, WeightEntry] | None = None) -> WeightEntry:
    entries = manifest if manifest is not None else load_manifest()
    if name not in entries:
        raise WeightsError(f"unknown weights name {name!r}; known: {', '.join(entries)}")
    return entries[name]


# ------------------------------------------------------------------------------------------------ finding files
def torch_hub_checkpoints() -> Path:
    """torch.hub's download cache, as ``torch.hub.get_dir()`` computes it, without importing torch."""
    home = os.environ.get("TORCH_HOME")
    if not home:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        home = os.path.join(cache, "torch")
    return Path(home).expanduser() / "hub" / "checkpoints"


def package_file_path(package_file: str) -> Path | None:
    """The file ``<package>/<path>`` inside an installed package, or None when the package is not installed."""
    top, _, rest = package_file.partition("/")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / rest


def candidates(entry: WeightEntry, root: str | os.PathLike | None = None) -> list[tuple[Path, str]]:
    """Places the file may be, in order of preference, each with a label for reports."""
    found = [(entry.target(root), "checkpoints")]
    if entry.hub_name:
        found.append((torch_hub_checkpoints() / entry.hub_name, "torch hub cache"))
    if entry.package_file:
        pkg = package_file_path(entry.package_file)
        if pkg is not None:
            found.append((pkg, f"{entry.package_file.split('/')[0]} package"))
    return found


def locate(entry: WeightEntry, root: str | os.PathLike | None = None) -> tuple[Path, str] | None:
    """The first existing copy of the file, or None."""
    return next(((p, origin) for p, origin in candidates(entry, root) if p.is_file()), None)


def weight_path(name: str, required: bool = True) -> Path:
    """The path of manifest entry ``name``.

    With ``required`` (default) a missing file, or one whose size differs from the manifest's, raises WeightsError
    naming the file; without it the expected path under the checkpoints folder is returned when there is no copy.
    """
    entry = get_entry(name)
    found = locate(entry)
    if found is None:
        if required:
            raise WeightsError(f"weights missing: {entry.target()}, {STATUS_HINT}")
        return entry.target()
    path = found[0]
    if required and entry.size is not None and path.stat().st_size != entry.size:
        raise WeightsError(
            f"{path}: {path.stat().st_size} bytes, expected {entry.size} for {name} (truncated or a different "
            f"file?), see `python -m talkingface weights verify {name}`"
        )
    return path


# ------------------------------------------------------------------------------------------------ torch files
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
    tmp = temp_sibling(path)
    try:
        with open(tmp, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
