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
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from talkingface.evalset.layout import MANIFEST_NAME, few, media_files
from talkingface.fsutil import write_text_atomic
from talkingface.outputs import OutputError, check_writable, refuse_input, refuse_input_folder
from talkingface.provenance import kit_version

FORMAT_VERSION = 1


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


def read_manifest(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The folder's provenance.json as a dict; None when there is none or it cannot be read."""
    path = Path(folder) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == FORMAT_VERSION else None


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    diffs = [f"{k}: {json.dumps(old.get(k), default=str)} -> {json.dumps(new.get(k), default=str)}"
             for k in keys if old.get(k) != new.get(k)]
    text = "; ".join(diffs)
    return text if len(text) <= 300 else text[:297] + "..."


class GeneratedFolder:
    """The output folder of one generator run; see the module docstring."""

    def __init__(self, folder: str | os.PathLike, maker: Maker, *, inputs=(), overwrite: bool = False,
                 what: str = "--save_folder"):
        self.folder, self.maker = Path(folder), maker
        self.run: dict[str, Any] = {}        # the run's record (versions, device, options): informative, not the key
        refuse_input_folder(self.folder, what)
        refuse_input(self.folder, inputs, what)
        check_writable(self.folder, what)
        old = read_manifest(self.folder)
        self.files: dict[str, dict[str, Any]] = {}
        if old is not None and old.get("maker_key") == maker.key():
            self.files = dict(old.get("files", {}))
        elif old is not None:
            made = [name for name in old.get("files", {}) if (self.folder / name).exists()]
            if made and not overwrite:
                raise OutputError(f"{self.folder}: holds {len(made)} output(s) made with another model or other "
                                  f"settings ({_differences(old.get('maker', {}), maker.identity())}); pass "
                                  f"--overwrite to make them again, or choose another {what}")
            for name in made:
                (self.folder / name).unlink()
        present = media_files(self.folder, []).values() if self.folder.is_dir() else []
        unrecorded = [p.name for p in present if p.name not in self.files]
        if unrecorded:
            raise OutputError(f"{self.folder}: holds {len(unrecorded)} image/video file(s) this command did not make "
                              f"({few(unrecorded)}): no record in {MANIFEST_NAME}. Choose an empty {what}; files "
                              f"the kit did not make are never overwritten")
        if old is not None and old.get("maker_key") != maker.key():
            self._save()                     # the new maker replaces the old one's record at once; a fresh folder
                                             # gets its provenance.json with its first output (or finish())

    def done(self, name: str) -> bool:
        """True when ``name`` was made by this maker and is still there (a resumed run skips it)."""
        return name in self.files and (self.folder / name).is_file()

    def add(self, name: str, **inputs: Any) -> None:
        """Record that ``name`` was just made from ``inputs`` (paths or values); the manifest is rewritten at once."""
        self.files[name] = {**{k: str(v) for k, v in inputs.items()}, "kit_version": kit_version(),
                            "made": _dt.datetime.now().astimezone().isoformat(timespec="seconds")}
        self._save()

    def finish(self, summary: dict[str, Any]) -> Path:
        """Write the manifest with the last run's summary (counts, failures); returns its path."""
        return self._save(summary)

    def _save(self, last_run: dict[str, Any] | None = None) -> Path:
        manifest = {"version": FORMAT_VERSION, "maker_key": self.maker.key(), "maker": self.maker.identity(),
                    "checkpoints": list(self.maker.checkpoints), "run": self.run,
                    "files": dict(sorted(self.files.items()))}
        if last_run is not None:
            manifest["last_run"] = last_run
        return write_text_atomic(self.folder / MANIFEST_NAME,
                                 json.dumps(manifest, indent=1, default=str, ensure_ascii=False) + "\n")


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


__all__ = ["MANIFEST_NAME", "GeneratedFolder", "Maker", "checkpoint_records", "file_sha256", "provenance_of",
           "read_manifest"]
