"""Which files are scored against which: the evaluation_set layout or an explicit pairs.csv (talkingface.evalset).

Self vs cross is decided per generated folder: a name ending in ``_self`` is scored against ``gt_self/`` (and shown
with ``source_self/``), any other against ``gt_cross/`` / ``source_cross/``. Files are paired by stem (file name
without extension). With ``pairs.csv`` the identity ids decide per row (same ``source_id`` and ``driving_id`` = same
identity); rows without ids fall back to the folder rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from talkingface.errors import KitError
from talkingface.evalset import (
    PairRow,
    few,
    generated_folders,
    ground_truth_folder,
    media_files,
    mode_of,
    read_pairs,
    source_folder,
)
from talkingface.media import is_video


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
    dropped: list = field(default_factory=list)          # expected samples without a generated file (ids)


def _resolve_generate_dirs(base: Path, names: list) -> list[tuple[str, Path, Optional[str]]]:
    if not names:
        names = generated_folders(base)
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
    rows = _read_pairs(base, pairs) if pairs else None
    plans = []
    for name, gen_dir, error in _resolve_generate_dirs(base, list(generate_dirs or [])):
        mode = mode_of(name)
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
            _pair_by_rows(plan, gen, rows)
        if max_samples is not None and len(plan.samples) > max_samples:
            plan.samples = plan.samples[:max_samples]
            plan.warnings.append(f"--max_samples {max_samples}: scoring the first {max_samples} samples")
        if not plan.samples and not plan.error:
            plan.error = f"no sample to score in {gen_dir}"
    return plans


def _pair_by_folder(base: Path, plan: RunPlan, gen: dict) -> None:
    plan.reference_dir = _folder(base, ground_truth_folder(plan.mode), plan, "ground-truth")
    plan.source_dir = _folder(base, source_folder(plan.mode), plan, "source")
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
    if gen:
        plan.dropped = [Path(name).stem for name in orphans]
    if gen and orphans:
        plan.warnings.append(f"{plan.name}: {len(orphans)} file(s) of {plan.reference_dir} have no generated "
                             f"output ({few(orphans)})")
    for stem, path in gen.items():
        plan.samples.append(Sample(stem, path, ref.get(stem), src.get(stem), plan.mode == "self"))


def _read_pairs(base: Path, pairs) -> list[PairRow]:
    """pairs.csv (talkingface.evalset.pairs), given as a path or a name under base_dir; paths resolve against
    base_dir first."""
    path = Path(pairs)
    if not path.is_file() and (base / path).is_file():
        path = base / path
    return read_pairs(path, [base])


def _pair_by_rows(plan: RunPlan, gen: dict, rows: list[PairRow]) -> None:
    plan.reference_dir = plan.source_dir = None
    missing_gen, problems, fid_ref, kinds = [], [], {}, set()
    for row in rows:
        path = gen.get(row.id)
        if path is None:
            missing_gen.append(row.id)
            continue
        problems += [f"line {row.line}: {p}" for p in row.problems]
        if row.gt is not None:
            fid_ref[str(row.gt)] = row.gt
        same = row.same_identity if row.same_identity is not None else plan.mode == "self"
        kinds.add(same)
        plan.samples.append(Sample(row.id, path, row.gt, row.source, same))
    plan.fid_reference = list(fid_ref.values())
    plan.mode = "mixed" if len(kinds) > 1 else ("self" if kinds == {True} else "cross") if kinds else plan.mode
    plan.dropped = missing_gen
    if missing_gen:
        plan.warnings.append(f"{plan.name}: {len(missing_gen)} pair(s) name a generated file not in "
                             f"{plan.generated_dir} ({few(missing_gen)})")
    if problems:
        plan.warnings.append(f"{plan.name}: {len(problems)} file(s) named by the pairs file do not exist "
                             f"({few(problems)}); those samples are scored without them")
