"""Evaluation runner: score the generated folders of an evaluation_set with the metric registry, write the reports.

    from talkingface.evaluation import evaluate
    results = evaluate("evaluation_set", ["generate_dagan_self", "generate_dagan"], "outputs/eval",
                       metrics=["niqe", "psnr", "ssim", "fid"], device="auto", batch_size=16)

One run per generated folder: ``*_self`` folders are scored against gt_self/ (PSNR, SSIM, LPIPS need this
same-identity ground truth), other folders against gt_cross/ (no full-reference metric is reported for them).
Images and videos are streamed in chunks, frames of consecutive samples are batched through every metric, on the
GPU when present. Each finished sample is appended to ``results_cache.jsonl`` (see :mod:`talkingface.evaluation.cache`)
so a killed run, started again, resumes. A sample that cannot be read is recorded with its error; the run goes on.

Outputs in ``output_path``: full_results.json (schema in talkingface.report), per_sample.csv, summary.md,
evaluation_summary.txt, report.html, config.resolved.yaml, visuals/ (``save_visuals``), cache/ (FID statistics).
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
from pathlib import Path
from typing import Callable, Optional, Sequence

from talkingface.config import load_config, save_resolved, to_dict
from talkingface.device import resolve_device
from talkingface.errors import ConfigError, KitError
from talkingface.evalset import INPUT_FOLDERS
from talkingface.evaluation.cache import ResultCache
from talkingface.evaluation.config import EvaluateConfig
from talkingface.evaluation.metrics import build_metrics
from talkingface.evaluation.plan import plan_runs
from talkingface.evaluation.run import RunScorer
from talkingface.outputs import check_writable, refuse_input
from talkingface.provenance import environment, kit_version
from talkingface.report import write_reports as _write_reports

__all__ = ["evaluate", "run_evaluation", "EvaluateConfig"]


def evaluate(base_dir=None, generate_dirs: Optional[Sequence[str]] = None, output_path=None, *,
             config=None, metric_factory: Optional[Callable] = None, log: Optional[Callable[[str], None]] = None,
             write_reports: bool = True, **options) -> dict:
    """Score ``generate_dirs`` of ``base_dir`` and write the reports into ``output_path``; returns the results.

    ``options`` are any :class:`EvaluateConfig` field (metrics, device, batch_size, pairs, ssim_protocol, resize,
    save_visuals, max_samples, fid_max_frames_per_video, lse_mode, progress, …); ``config`` is a YAML path or an
    EvaluateConfig to start from. ``metric_factory(name, device=..., **opts)`` replaces
    ``talkingface.metrics.create_metric`` (a hook, e.g. to count metric calls). ``log`` receives warning lines
    (default: the ``talkingface.evaluation`` logger's warning level).
    """
    if isinstance(config, EvaluateConfig):
        cfg = dataclasses.replace(config)
    else:
        cfg = load_config(config, EvaluateConfig)
    given = {"base_dir": base_dir, "generate_dirs": generate_dirs, "output_path": output_path}
    for key, value in list(given.items()) + list(options.items()):
        if key not in {f.name for f in dataclasses.fields(EvaluateConfig)}:
            raise ConfigError(f"evaluate(): unknown option {key!r}")
        if value is not None:
            setattr(cfg, key, [str(v) for v in value] if key == "generate_dirs" else value)
    return run_evaluation(cfg, metric_factory=metric_factory, log=log, write_reports=write_reports)


def check_output_path(out: Path, base_dir, generated: list, pairs=None) -> None:
    """Before any work: the results folder is none of the inputs (the evaluation set, its input folders, the
    generated folders, the pairs file) nor inside one, and it can be written."""
    base = Path(base_dir)
    inputs = [base, *[base / name for name in INPUT_FOLDERS], *generated, pairs]
    refuse_input(out, inputs, "--output_path")
    check_writable(out, "--output_path folder")


def run_evaluation(cfg: EvaluateConfig, metric_factory: Optional[Callable] = None,
                   log: Optional[Callable[[str], None]] = None, write_reports: bool = True) -> dict:
    """Run a validated config (see :func:`evaluate`)."""
    log = log or logging.getLogger(__name__).warning
    cfg.validate()
    device = resolve_device(cfg.device)
    out = Path(cfg.output_path)
    plans = plan_runs(cfg.base_dir, cfg.generate_dirs, pairs=cfg.pairs, max_samples=cfg.max_samples)
    check_output_path(out, cfg.base_dir, [p.generated_dir for p in plans], cfg.pairs)
    if all(plan.error for plan in plans):       # nothing to score: say why before writing anything
        raise KitError("; ".join(f"{plan.name}: {plan.error}" for plan in plans))
    for plan in plans:
        for warning in plan.warnings:
            log(warning)
        if plan.error:
            log(f"{plan.name}: {plan.error}")
    metrics = build_metrics(cfg, device, metric_factory)
    for name, why in metrics.unavailable.items():
        log(f"{name} unavailable: {why}")
    if metrics.missing_weights:                 # every missing file of the command at once, with one fetch line
        files = ", ".join(map(str, metrics.missing_weights.values()))
        log(f"weights missing for {', '.join(metrics.unavailable)}: {files}; get them with "
            f"`python -m talkingface weights fetch {' '.join(metrics.missing_weights)}`")
    out.mkdir(parents=True, exist_ok=True)
    cache = ResultCache(out)
    runs = []
    try:
        for plan in plans:
            n_warn = len(plan.warnings)
            runs.append(RunScorer(plan, metrics, cfg, cache, out, log).score())
            for warning in plan.warnings[n_warn:]:
                log(warning)
            for note in runs[-1]["integrity"]["notes"]:
                log(f"{plan.name}: {note}")
            if runs[-1]["provenance"] is not None and runs[-1]["provenance"]["random_weights"]:
                log(f"{plan.name}: made with {runs[-1]['provenance']['label'] or 'random weights'}: not a result")
    finally:
        cache.close()
    args = to_dict(cfg)
    args["device_resolved"] = device
    results = {"kit_version": kit_version(), "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
               "environment": environment(device), "args": args, "runs": runs,
               "n_evaluated": sum(r["n_evaluated"] for r in runs), "n_failed": sum(r["n_failed"] for r in runs),
               "n_values": sum(m.get("value") is not None for r in runs for m in r["metrics"].values())}
    if cache.dropped_lines:
        results["cache_note"] = f"{cache.dropped_lines} incomplete line(s) of the resume cache were ignored"
    if write_reports:
        save_resolved(cfg, out)
        _write_reports(results, out, examples=cfg.report_examples)
    return results
