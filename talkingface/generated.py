"""A folder of generated files and its ``provenance.json``: what made every file; resume, overwrite or refuse.

    maker = Maker("dagan", checkpoints=checkpoint_records({"dagan": ckpt}), settings={"relative": True})
    folder = GeneratedFolder("evaluation_set/generate_dagan_self", maker, inputs=[source_dir, driving_dir])
    if not folder.done("id0.mp4"):
        ...write it...
        folder.add("id0.mp4", source=src, driving=drv)

``provenance.json`` (inside the folder, next to the outputs; the evaluator skips it) holds the maker — model, whether
its weights are random (with the label every report shows), the checkpoints by name and sha256, the settings that
decide the outputs — its ``maker_key`` (a hash of those), the run record (versions, device, options) and one entry
per file. A second run with the same maker resumes (files already made are kept); with another maker it refuses,
naming what differs, unless ``overwrite`` (then the files the old maker made are deleted and made again). A folder
holding images or videos this command did not make (a ground-truth folder, say) is refused; files we did not make
are never deleted.

Shards (docs/scale_out.md): ``GeneratedFolder(..., shard=(i, n))`` is one of several processes writing into the same
folder. It keeps its records in ``provenance.shard-<i>-of-<n>.json`` (a file of its own: no two processes write one
file), each record with ``"shard": "i/n"``; it reads provenance.json and every shard manifest of the same maker, so
files any shard made count as made (resume) and as ours (not "files this command did not make"). A folder opened
without ``shard`` — the merge — folds every shard manifest of its maker into provenance.json (records keep their
``shard``, each shard's run record goes to ``shard_runs``) and deletes them; :meth:`GeneratedFolder.finish` records
in ``last_run`` how the files were split (``world_size``, files per shard). A shard manifest of another maker is
treated like another maker's provenance.json.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from talkingface.evalset.layout import MANIFEST_NAME, few, media_files
from talkingface.fsutil import write_text_atomic
from talkingface.outputs import OutputError, check_writable, refuse_input, refuse_input_folder
from talkingface.provenance import kit_version

FORMAT_VERSION = 1
UNSHARDED = "unsharded"          # the shard label of files made by a process without --shard
_SHARD_FILE = re.compile(r"^provenance\.shard-(\d+)-of-(\d+)\.json$")


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, read in 4 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(4 << 20):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_records(files: dict[str, str | os.PathLike]) -> tuple[dict[str, str], ...]:
    """``{role: path}`` → the records a Maker keeps: role, file name, path and sha256 of each weight file."""
    return tuple({"role": role, "name": Path(path).name, "path": str(path), "sha256": file_sha256(path)}
                 for role, path in sorted(files.items()))


@dataclass(frozen=True)
class Maker:
    """What makes the outputs of a folder; :meth:`key` hashes all of it."""

    model: str                                   # "dagan", "static-baseline", ...
    random_weights: bool = False
    label: str | None = None                     # shown next to every number made from these outputs
    checkpoints: tuple[dict[str, str], ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        return {"model": self.model, "random_weights": self.random_weights, "label": self.label,
                "checkpoints": [{"role": c["role"], "sha256": c["sha256"]} for c in self.checkpoints],
                "settings": self.settings}

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True, default=str).encode()).hexdigest()[:16]


def shard_manifest_name(shard: tuple[int, int]) -> str:
    """``provenance.shard-<i>-of-<n>.json``: where shard i/n keeps its records until a merge folds them."""
    return f"provenance.shard-{shard[0]}-of-{shard[1]}.json"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == FORMAT_VERSION else None


def read_manifest(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The folder's provenance.json as a dict; None when there is none or it cannot be read."""
    return _read_json(Path(folder) / MANIFEST_NAME)


def shard_manifests(folder: str | os.PathLike) -> dict[str, dict[str, Any] | None]:
    """``{"i/n": manifest}`` of the shard manifests in ``folder`` not yet merged (None: unreadable), by shard."""
    found = {}
    if Path(folder).is_dir():
        for path in Path(folder).iterdir():
            match = _SHARD_FILE.match(path.name)
            if match and path.is_file():
                found[(int(match[2]), int(match[1]))] = (f"{match[1]}/{match[2]}", _read_json(path))
    return dict(found[k] for k in sorted(found))


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    diffs = [f"{k}: {json.dumps(old.get(k), default=str)} -> {json.dumps(new.get(k), default=str)}"
             for k in keys if old.get(k) != new.get(k)]
    text = "; ".join(diffs)
    return text if len(text) <= 300 else text[:297] + "..."


def _shard_sizes(labels) -> list[int]:
    sizes = set()
    for label in labels:
        count = str(label).partition("/")[2]
        if count.isdigit():
            sizes.add(int(count))
    return sorted(sizes)


class GeneratedFolder:
    """The output folder of one generator run; see the module docstring."""

    def __init__(self, folder: str | os.PathLike, maker: Maker, *, inputs=(), overwrite: bool = False,
                 what: str = "--save_folder", shard: tuple[int, int] | None = None):
        self.folder, self.maker, self.shard = Path(folder), maker, shard
        self.label = None if shard is None else f"{shard[0]}/{shard[1]}"
        self.path = self.folder / (MANIFEST_NAME if shard is None else shard_manifest_name(shard))
        self.run: dict[str, Any] = {}        # the run's record (versions, device, options): informative, not the key
        refuse_input_folder(self.folder, what)
        refuse_input(self.folder, inputs, what)
        check_writable(self.folder, what)
        key = maker.key()
        manifests: dict[str, dict[str, Any]] = {}            # label ("" for provenance.json) -> manifest
        old = read_manifest(self.folder)
        if old is not None:
            manifests[""] = old
        manifests.update((label, data) for label, data in shard_manifests(self.folder).items() if data is not None)
        ours = {label: data for label, data in manifests.items() if data.get("maker_key") == key}
        others = {label: data for label, data in manifests.items() if label not in ours}
        # every record of this maker, whichever process wrote it: provenance.json's, then each shard's
        self.files: dict[str, dict[str, Any]] = {}
        for data in ours.values():
            self.files.update(data.get("files", {}))
        self._own = set(ours.get(self.label or "", {}).get("files", {})) if shard is not None else None
        self.shard_runs: dict[str, Any] = dict(ours.get("", {}).get("shard_runs", {})) if shard is None else {}
        made: dict[str, str] = {}                            # another maker's files still here -> its manifest
        for label, data in others.items():
            for name in data.get("files", {}):
                if name not in self.files and name not in made and (self.folder / name).exists():
                    made[name] = label
        if made and not overwrite:
            first = others[next(iter(made.values()))]
            raise OutputError(f"{self.folder}: holds {len(made)} output(s) made with another model or other "
                              f"settings ({_differences(first.get('maker', {}), maker.identity())}); pass "
                              f"--overwrite to make them again, or choose another {what}")
        present = media_files(self.folder, []).values() if self.folder.is_dir() else []
        unrecorded = [p.name for p in present if p.name not in self.files and p.name not in made]
        if unrecorded:
            raise OutputError(f"{self.folder}: holds {len(unrecorded)} image/video file(s) this command did not make "
                              f"({few(unrecorded)}): no record in {MANIFEST_NAME}. Choose an empty {what}; files "
                              f"the kit did not make are never overwritten")
        for name in made:
            (self.folder / name).unlink(missing_ok=True)
        for label in others:                 # another maker's records of files no longer here
            if label or shard is not None:
                self._manifest_path(label).unlink(missing_ok=True)
        folded = [label for label in ours if label] if shard is None else []
        self.merged = folded                 # the shards whose records this (merging) folder folded in
        for label in folded:
            self.shard_runs[label] = ours[label].get("run", {})
        if shard is None and ("" in others or folded):
            self._save()                     # the new maker replaces the old one's record at once, the shards'
                                             # records are folded in; a fresh folder gets its provenance.json
                                             # with its first output (or finish())
        for label in folded:                 # only once provenance.json holds their records
            self._manifest_path(label).unlink(missing_ok=True)

    def _manifest_path(self, label: str) -> Path:
        if not label:
            return self.folder / MANIFEST_NAME
        index, _, count = label.partition("/")
        return self.folder / shard_manifest_name((int(index), int(count)))

    def done(self, name: str) -> bool:
        """True when ``name`` was made by this maker (in any shard) and is still there (a resumed run skips it)."""
        return name in self.files and (self.folder / name).is_file()

    def add(self, name: str, **inputs: Any) -> None:
        """Record that ``name`` was just made from ``inputs`` (paths or values); the manifest is rewritten at once."""
        record = {**{k: str(v) for k, v in inputs.items()}, "kit_version": kit_version(),
                  "made": _dt.datetime.now().astimezone().isoformat(timespec="seconds")}
        if self.label is not None:
            record["shard"] = self.label
            self._own.add(name)
        self.files[name] = record
        self._save()

    def sharding(self) -> dict[str, Any]:
        """How the recorded files were split: ``{"world_size": 2, "shards": {"0/2": 3, "1/2": 2}}`` (files made by
        a process without a shard count as ``"unsharded"``; world_size 1 when no shard made any, a list when shards
        of several sizes did)."""
        counts = Counter(record.get("shard") or UNSHARDED for record in self.files.values())
        sizes = _shard_sizes(counts)
        order = sorted(counts, key=lambda k: (k == UNSHARDED, _shard_sizes([k]), k.partition("/")[0].zfill(9)))
        return {"world_size": (sizes[0] if len(sizes) == 1 else sizes) if sizes else 1,
                "shards": {k: counts[k] for k in order}}

    def finish(self, summary: dict[str, Any]) -> Path:
        """Write the manifest with the last run's summary (counts, failures) and, for a run without a shard, how
        the folder's files were split (:meth:`sharding`); returns its path."""
        if self.shard is None:
            return self._save({**summary, **self.sharding()})
        return self._save({**summary, "shard": self.label, "world_size": self.shard[1]})

    def _save(self, last_run: dict[str, Any] | None = None) -> Path:
        files = self.files if self._own is None else {n: r for n, r in self.files.items() if n in self._own}
        manifest = {"version": FORMAT_VERSION, "maker_key": self.maker.key(), "maker": self.maker.identity(),
                    "checkpoints": list(self.maker.checkpoints), "run": self.run,
                    "files": dict(sorted(files.items()))}
        if self.label is not None:
            manifest["shard"] = self.label
        elif self.shard_runs:
            manifest["shard_runs"] = dict(sorted(self.shard_runs.items()))
        if last_run is not None:
            manifest["last_run"] = last_run
        return write_text_atomic(self.path, json.dumps(manifest, indent=1, default=str, ensure_ascii=False) + "\n")


def provenance_of(folder: str | os.PathLike) -> dict[str, Any] | None:
    """What the evaluator reports about a generated folder: the maker (random weights and label, model,
    checkpoints by name and sha256, settings), the kit version, and how many of its media files have a record.
    None when the folder has no provenance.json."""
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    maker = manifest.get("maker", {})
    recorded = manifest.get("files", {})
    present = [p.name for p in media_files(Path(folder), []).values()]
    versions = sorted({f.get("kit_version") for f in recorded.values() if f.get("kit_version")})
    checkpoints = [{"name": c.get("name"), "sha256": c.get("sha256")} for c in manifest.get("checkpoints", [])]
    return {"random_weights": bool(maker.get("random_weights")), "label": maker.get("label"),
            "model": maker.get("model"), "settings": maker.get("settings", {}), "checkpoints": checkpoints,
            "kit_version": ", ".join(versions) or None,
            "files_recorded": sum(name in recorded for name in present),
            "files_unrecorded": sorted(name for name in present if name not in recorded)}


__all__ = ["MANIFEST_NAME", "UNSHARDED", "GeneratedFolder", "Maker", "checkpoint_records", "file_sha256",
           "provenance_of", "read_manifest", "shard_manifest_name", "shard_manifests"]
