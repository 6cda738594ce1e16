"""The manifest of external weight files (``checkpoints/manifest.yaml``): its entries and where each file is.

Where things are:

* the manifest: ``$TALKINGFACE_MANIFEST``, else ``checkpoints/manifest.yaml`` of the repository this package sits in,
  else ``$TALKINGFACE_CHECKPOINTS/manifest.yaml``. There is one copy, in the repository.
* the weight files: ``$TALKINGFACE_CHECKPOINTS``, else the folder holding the manifest. A file found there wins; an
  entry with ``hub_name`` may also be found in torch.hub's cache (``$TORCH_HOME/hub/checkpoints``), and one with
  ``package_file`` inside the installed pip package that ships it (LPIPS's ``alex.pth``).

Loading files safely: :mod:`talkingface.weights.loading`; digest checks and downloads: :mod:`talkingface.weights.fetch`;
CLI: :mod:`talkingface.cli.weights`.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from talkingface.errors import WeightsError

MANIFEST_ENV = "TALKINGFACE_MANIFEST"
CHECKPOINTS_ENV = "TALKINGFACE_CHECKPOINTS"
STATUS_HINT = "see `python -m talkingface weights status`"
REPO_ROOT = Path(__file__).resolve().parents[2]
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


def missing_weights(items: Iterable[tuple[str, Path]]) -> WeightsError:
    """One error for every missing file at once: ``(manifest name, path)`` pairs, each with the command that gets
    it — ``weights missing: A (`python -m talkingface weights fetch a`), B (…); see `… weights status```."""
    items = list(items)
    parts = [f"{path} (`python -m talkingface weights fetch {name}`)" for name, path in items]
    error = WeightsError(f"weights missing: {', '.join(parts)}; {STATUS_HINT}")
    error.missing = items             # (manifest name, path) pairs, for callers that gather several such errors
    return error


def weight_path(name: str, required: bool = True) -> Path:
    """The path of manifest entry ``name``.

    With ``required`` (default) a missing file, or one whose size differs from the manifest's, raises WeightsError
    naming the file; without it the expected path under the checkpoints folder is returned when there is no copy.
    """
    entry = get_entry(name)
    found = locate(entry)
    if found is None:
        if required:
            raise missing_weights([(name, entry.target())])
        return entry.target()
    path = found[0]
    if required and entry.size is not None and path.stat().st_size != entry.size:
        raise WeightsError(
            f"{path}: {path.stat().st_size} bytes, expected {entry.size} for {name} (truncated or a different "
            f"file?), see `python -m talkingface weights verify {name}`"
        )
    return path


def require_weights(wanted: dict[str, tuple[str, str | os.PathLike | None]]) -> dict[str, Path]:
    """``{role: (manifest name, given path or None)}`` → ``{role: path}``, checking every file before failing: one
    WeightsError lists all missing files, each with its ``weights fetch`` line (see :func:`resolve_weights`)."""
    found, missing = {}, []
    for role, (name, given) in wanted.items():
        path = Path(given) if given is not None else weight_path(name, required=False)
        if path.exists():
            found[role] = resolve_weights(name, given)     # the manifest's size check for its own files
        else:
            missing.append((name, path))
    if missing:
        raise missing_weights(missing)
    return found


def resolve_weights(name: str, given: str | os.PathLike | None = None) -> Path:
    """The file to load for manifest entry ``name``: ``given`` when set (it must exist), else :func:`weight_path`.
    A missing file raises ``WeightsError("weights missing: <file> (`… weights fetch <name>`); see …")``."""
    if given is not None:
        path = Path(given)
        if not path.exists():                      # a folder or other odd path: load_torch names the problem
            raise missing_weights([(name, path)])
        return path
    return weight_path(name)
