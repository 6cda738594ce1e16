"""Which files are scored against which: the evaluation_set layout (DESIGN §5) or an explicit pairs.csv.

Self vs cross is decided per generated folder: a name ending in ``_self`` is scored against ``gt_self/`` (and shown
with ``source_self/``), any other against ``gt_cross/`` / ``source_cross/``. Files are paired by stem (file name
without extension). With ``pairs.csv`` the identity ids decide per row (same ``source_id`` and ``driving_id`` = same
identity); rows without ids fall back to the folder rule.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from talkingface.errors import ConfigError, KitError

SHOW = 5  # file names listed in a message before "…"


def _extensions() -> tuple[set[str], set[str]]:
    from talkingface.images import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

    norm = lambda exts: {("." + str(e).lower().lstrip(".")) for e in exts}  # noqa: E731
    return norm(IMAGE_EXTENSIONS), norm(VIDEO_EXTENSIONS)


def is_video(path: Path) -> bool:
    return path.suffix.lower() in _extensions()[1]


def few(names, count: Optional[int] = None) -> str:
    """``a, b, c, … (12 in all)`` — a short list for one-line messages."""
    names = [str(n) for n in names]
    count = len(names) if count is None else count
    shown = ", ".join(names[:SHOW])
    return shown + (f", … ({count} in all)" if count > SHOW else "")


@dataclass
class Sample:
    sample: str                      # id: the generated file's stem
    generated: Path
    reference: Optional[Path]        # same-name ground truth (self) or driving frames (cross); None if unmatched
    source: Optional[Path]
    same_identity: bool              # full-reference metrics (PSNR, SSIM, LPIPS) apply

    @property
    def is_video(self) -> bool:
        return is_video(self.generated)


@dataclass
class RunPlan:
    name: str
    mode: str                        # "self" | "cross" | "mixed" (pairs.csv with both kinds of rows)
    generated_dir: Path
    reference_dir: Optional[Path]
    source_dir: Optional[Path]
    samples: list = field(default_factory=list)
    fid_reference: list = field(default_factory=list)   # real files whose frames form FID's reference set
    warnings: list = field(default_factory=list)
    error: Optional[str] = None


def media_files(folder: Path, warnings: list) -> dict[str, Path]:
    """stem → file for the images and videos directly in ``folder`` (sorted); odd files are mentioned once."""
    image_ext, video_ext = _extensions()
    found: dict[str, Path] = {}
    ignored, clashes = [], []
    for path in sorted(p for p in folder.iterdir() if not p.name.startswith(".")):
        if not path.is_file():
            continue
        if path.suffix.lower() not in image_ext | video_ext:
            ignored.append(path.name)
        elif path.stem in found:
            clashes.append(f"{found[path.stem].name}/{path.name}")
        else:
            found[path.stem] = path
    if ignored:
        warnings.append(f"{folder}: ignored {len(ignored)} file(s) that are neither images nor videos "
                        f"({few(ignored)})")
    if clashes:
        warnings.append(f"{folder}: several files share a name, the first is used ({few(clashes)})")
    return found


def _resolve_generate_dirs(base: Path, names: list) -> list[tuple[str, Path, Optional[str]]]:
    if not names:
        names = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name.startswith("generate"))
        if not names:
            raise KitError(f"{base}: no generate_* folder found; pass --generate_dirs with the folders to score")
    out, seen = [], set()
    for raw in names:
        cand = base / raw
        path = cand if cand.is_dir() else Path(raw)
        error = None
        if not path.is_dir():
            error = f"generated folder not found: {cand}" + ("" if Path(raw).is_absolute() else f" (nor ./{raw})")
            path = cand
        name = path.name or str(raw)
        while name in seen:
            name += "_"
        seen.add(name)
        out.append((name, path, error))
    return out


def _folder(base: Path, name: str, plan: RunPlan, what: str) -> Optional[Path]:
    path = base / name
    if path.is_dir():
        return path
    plan.warnings.append(f"{what} folder missing: {path}")
    return None


def plan_runs(base_dir, generate_dirs, pairs=None, max_samples=None) -> list[RunPlan]:
    """One RunPlan per generated folder. Raises KitError only when base_dir itself is unusable."""
    base = Path(base_dir)
    if not base.is_dir():
        raise KitError(f"evaluation set folder not found: {base}")
    rows = read_pairs(base, pairs) if pairs else None
    plans = []
    for name, gen_dir, error in _resolve_generate_dirs(base, list(generate_dirs or [])):
        mode = "self" if name.endswith("_self") else "cross"
        plan = RunPlan(name, mode, gen_dir, None, None, error=error)
        plans.append(plan)
        if error:
            continue
        gen = media_files(gen_dir, plan.warnings)
        if not gen:
            plan.error = f"no images or videos in {gen_dir}"
            continue
        if rows is None:
            _pair_by_folder(base, plan, gen)
        else:
            _pair_by_rows(base, plan, gen, rows)
        if max_samples is not None and len(plan.samples) > max_samples:
            plan.samples = plan.samples[:max_samples]
            plan.warnings.append(f"--max_samples {max_samples}: scoring the first {max_samples} samples")
        if not plan.samples and not plan.error:
            plan.error = f"no sample to score in {gen_dir}"
    return plans


def _pair_by_folder(base: Path, plan: RunPlan, gen: dict) -> None:
    plan.reference_dir = _folder(base, f"gt_{plan.mode}", plan, "ground-truth")
    plan.source_dir = _folder(base, f"source_{plan.mode}", plan, "source")
    ref = media_files(plan.reference_dir, plan.warnings) if plan.reference_dir else {}
    src = media_files(plan.source_dir, plan.warnings) if plan.source_dir else {}
    plan.fid_reference = list(ref.values())
    if plan.reference_dir and not ref:
        plan.warnings.append(f"ground-truth folder is empty: {plan.reference_dir}")
    unmatched = [p.name for s, p in gen.items() if s not in ref]
    if ref and unmatched:
        effect = "full-reference metrics skip them" if plan.mode == "self" else "shown without ground truth"
        plan.warnings.append(f"{plan.name}: {len(unmatched)} of {len(gen)} generated file(s) have no file of the same "
                             f"name in {plan.reference_dir} ({few(unmatched)}); {effect}")
    orphans = [p.name for s, p in ref.items() if s not in gen]
    if gen and orphans:
        plan.warnings.append(f"{plan.name}: {len(orphans)} file(s) of {plan.reference_dir} have no generated "
                             f"output ({few(orphans)})")
    for stem, path in gen.items():
        plan.samples.append(Sample(stem, path, ref.get(stem), src.get(stem), plan.mode == "self"))


def read_pairs(base: Path, pairs) -> list[dict]:
    """Rows of pairs.csv: {generated, gt, source, same} with paths resolved against base_dir."""
    path = Path(pairs)
    if not path.is_file():
        cand = base / path
        if not cand.is_file():
            raise ConfigError(f"pairs file not found: {path}")
        path = cand
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
            raw_rows = [{k.strip().lower(): (v or "").strip() for k, v in r.items() if k} for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: cannot read pairs CSV ({exc})") from None
    gt_col = "gt" if "gt" in header else "driving" if "driving" in header else None
    if gt_col is None:
        raise ConfigError(f"{path}: needs a 'gt' (or 'driving') column; found {', '.join(header) or 'no header'}")
    rows = []
    for line, r in enumerate(raw_rows, start=2):
        if not r.get(gt_col):
            raise ConfigError(f"{path}:{line}: empty {gt_col!r}")
        gt = _resolve(base, r[gt_col])
        sid, did = r.get("source_id", ""), r.get("driving_id", "")
        rows.append({"generated": r.get("generated") or gt.stem, "gt": gt,
                     "source": _resolve(base, r["source"]) if r.get("source") else None,
                     "same": (sid == did) if (sid and did) else None, "line": line})
    if not rows:
        raise ConfigError(f"{path}: no rows")
    return rows


def _resolve(base: Path, value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else base / p


def _pair_by_rows(base: Path, plan: RunPlan, gen: dict, rows: list) -> None:
    plan.reference_dir = plan.source_dir = None
    missing_gen, missing_gt, seen, fid_ref = [], [], set(), {}
    kinds = set()
    for row in rows:
        key = Path(row["generated"])
        path = plan.generated_dir / key if (plan.generated_dir / key).is_file() else gen.get(key.stem if key.suffix
                                                                                             else str(key))
        if path is None:
            missing_gen.append(str(row["generated"]))
            continue
        if path.stem in seen:
            continue
        seen.add(path.stem)
        gt = row["gt"] if row["gt"].is_file() else None
        if gt is None:
            missing_gt.append(str(row["gt"]))
        else:
            fid_ref[str(gt)] = gt
        same = row["same"] if row["same"] is not None else plan.mode == "self"
        kinds.add(same)
        src = row["source"] if row["source"] is not None and row["source"].is_file() else None
        plan.samples.append(Sample(path.stem, path, gt, src, same))
    plan.fid_reference = list(fid_ref.values())
    plan.mode = "mixed" if len(kinds) > 1 else ("self" if kinds == {True} else "cross") if kinds else plan.mode
    if missing_gen:
        plan.warnings.append(f"{plan.name}: {len(missing_gen)} pair(s) name a generated file not in "
                             f"{plan.generated_dir} ({few(missing_gen)})")
    if missing_gt:
        plan.warnings.append(f"{plan.name}: {len(missing_gt)} ground-truth file(s) of the pairs file do not exist "
                             f"({few(missing_gt)})")
