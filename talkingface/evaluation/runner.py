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

Scale-out (docs/scale_out.md): ``shard="i/n"`` scores only the samples at positions i, i+n, … of every run into
``results_cache.shard-<i>-of-<n>.jsonl`` and the per-sample FID features into cache/fid/, and writes no report; a run
without ``shard`` on the same output folder is the merge: every sample a shard scored is read from its file (the
others are scored), FID comes from all samples' features, and the results record ``sharding`` (world size, samples
per shard) and each sample's ``shard``. With ``distributed=True`` (the CLI) under torchrun (``WORLD_SIZE`` > 1) each
rank runs shard RANK/WORLD_SIZE, the ranks wait for each other, and rank 0 merges.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
from collections import Counter
from pathlib import Path
from typing import Callable, Optional, Sequence

from talkingface.config import load_config, save_resolved, to_dict
from talkingface.device import resolve_device
from talkingface.errors import ConfigError, KitError
from talkingface.evalset import INPUT_FOLDERS
from talkingface.evaluation.cache import ResultCache
from talkingface.evaluation.config import EvaluateConfig, format_shard, parse_shard
from talkingface.evaluation.metrics import build_metrics
from talkingface.evaluation.plan import plan_runs
from talkingface.evaluation.run import RunScorer
from talkingface.outputs import check_writable, refuse_input
from talkingface.provenance import environment, kit_version
from talkingface.report import write_reports as _write_reports
from talkingface.shards import gather_failures, gloo_group, torchrun_rank, torchrun_world_size

__all__ = ["evaluate", "run_evaluation", "EvaluateConfig", "shard_message", "torchrun_world_size"]

UNSHARDED = "unsharded"          # ``sharding.shards`` label of samples scored by the merging process itself


def evaluate(base_dir=None, generate_dirs: Optional[Sequence[str]] = None, output_path=None, *,
             config=None, metric_factory: Optional[Callable] = None, log: Optional[Callable[[str], None]] = None,
             write_reports: bool = True, distributed: bool = False, **options) -> dict:
    """Score ``generate_dirs`` of ``base_dir`` and write the reports into ``output_path``; returns the results.

    ``options`` are any :class:`EvaluateConfig` field (metrics, device, batch_size, pairs, ssim_protocol, resize,
    save_visuals, max_samples, fid_max_frames_per_video, lse_mode, progress, …); ``config`` is a YAML path or an
    EvaluateConfig to start from. ``metric_factory(name, device=..., **opts)`` replaces
    ``talkingface.metrics.create_metric`` (a hook, e.g. to count metric calls). ``log`` receives warning lines
    (default: the ``talkingface.evaluation`` logger's warning level).

    ``shard="i/n"`` scores one part of every run and returns what it did (``{"shard", "world_size", "runs", …}``,
    see :func:`shard_message`) instead of the results; the reports come from a later run without ``shard``.
    ``distributed=True``: under torchrun (``WORLD_SIZE`` > 1, no ``shard``) every rank scores its shard and rank 0
    merges and returns the results (other ranks return their shard's summary); a no-op in one process.
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
    return run_evaluation(cfg, metric_factory=metric_factory, log=log, write_reports=write_reports,
                          distributed=distributed)


def check_output_path(out: Path, base_dir, generated: list, pairs=None) -> None:
    """Before any work: the results folder is none of the inputs (the evaluation set, its input folders, the
    generated folders, the pairs file) nor inside one, and it can be written."""
    base = Path(base_dir)
    inputs = [base, *[base / name for name in INPUT_FOLDERS], *generated, pairs]
    refuse_input(out, inputs, "--output_path")
    check_writable(out, "--output_path folder")


def run_evaluation(cfg: EvaluateConfig, metric_factory: Optional[Callable] = None,
                   log: Optional[Callable[[str], None]] = None, write_reports: bool = True,
                   distributed: bool = False) -> dict:
    """Run a validated config (see :func:`evaluate`)."""
    log = log or logging.getLogger(__name__).warning
    cfg.validate()
    if distributed and torchrun_world_size() > 1:
        if cfg.shard is not None:
            raise ConfigError(f"shard {cfg.shard} under torchrun (WORLD_SIZE={torchrun_world_size()}): leave --shard "
                              f"out, each rank takes shard RANK/WORLD_SIZE")
        return _run_torchrun(cfg, metric_factory, log, write_reports)
    return _run(cfg, metric_factory, log, write_reports)


def _run(cfg: EvaluateConfig, metric_factory: Optional[Callable], log: Callable[[str], None], write_reports: bool,
         launcher: Optional[dict] = None) -> dict:
    shard = parse_shard(cfg.shard) if cfg.shard is not None else None
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
    cache = ResultCache(out, shard)
    runs = []
    try:
        for plan in plans:
            n_warn = len(plan.warnings)
            runs.append(RunScorer(plan, metrics, cfg, cache, out, log, shard=shard).score())
            for warning in plan.warnings[n_warn:]:
                log(warning)
            if shard is not None:
                continue
            for note in runs[-1]["integrity"]["notes"]:
                log(f"{plan.name}: {note}")
            if runs[-1]["provenance"] is not None and runs[-1]["provenance"]["random_weights"]:
                log(f"{plan.name}: made with {runs[-1]['provenance']['label'] or 'random weights'}: not a result")
    finally:
        cache.close()
    if shard is not None:
        return {"shard": format_shard(shard), "world_size": shard[1], "output_path": str(out),
                "cache_file": cache.path.name, "runs": runs,
                **{k: sum(r[k] for r in runs) for k in ("n_samples", "n_cached", "n_computed", "n_failed")}}
    scored_here = {r["name"]: r["n_computed"] for r in runs if r["n_computed"]}
    if cache.shard_files and scored_here:
        log(f"merge: {sum(scored_here.values())} sample(s) were in no shard's results "
            f"({', '.join(f'{k}: {v}' for k, v in scored_here.items())}; a shard not run or not finished, run "
            f"with other options or paths, or its files are not in {out}): scored here")
    args = to_dict(cfg)
    args["device_resolved"] = device
    results = {"kit_version": kit_version(), "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
               "environment": environment(device), "args": args, "runs": runs,
               "n_evaluated": sum(r["n_evaluated"] for r in runs), "n_failed": sum(r["n_failed"] for r in runs),
               "n_values": sum(m.get("value") is not None for r in runs for m in r["metrics"].values()),
               "sharding": _sharding(runs, launcher)}
    if cache.dropped_lines:
        results["cache_note"] = f"{cache.dropped_lines} incomplete line(s) of the resume cache were ignored"
    if write_reports:
        save_resolved(cfg, out)
        _write_reports(results, out, examples=cfg.report_examples)
    return results


def _sharding(runs: list, launcher: Optional[dict]) -> Optional[dict]:
    """How the samples were split: ``{"world_size", "shards": {"i/n" or "unsharded": samples}}`` per run (in
    ``run["sharding"]``) and over all runs (returned, with ``launcher``); None where no shard scored a sample.
    Every sample gets ``shard``: the "i/n" of the shard that scored it, or None (scored by this process)."""
    total: Counter = Counter()
    for run in runs:
        counts = Counter()
        for sample in run["samples"]:
            sample.setdefault("shard", None)
            counts[sample["shard"] or UNSHARDED] += 1
        run["sharding"] = _split(counts)
        total.update(counts)
    out = _split(total)
    if out is not None and launcher:
        out.update(launcher)
    return out


def _split(counts: Counter) -> Optional[dict]:
    shards = {label: _shard_of(label) for label in counts}
    sizes = sorted({s[1] for s in shards.values() if s is not None})
    if not sizes:
        return None
    order = sorted(counts, key=lambda k: (0, shards[k][1], shards[k][0]) if shards[k] else (1, 0, 0))
    return {"world_size": sizes[0] if len(sizes) == 1 else sizes, "shards": {k: counts[k] for k in order}}


def _shard_of(label: str) -> Optional[tuple[int, int]]:
    try:
        return None if label == UNSHARDED else parse_shard(label)
    except ConfigError:                         # a hand-edited cache line: counted, not ordered
        return None


def shard_message(result: dict) -> str:
    """One line saying what a shard did (the result of ``evaluate(..., shard="i/n")``) and how to merge."""
    return (f"shard {result['shard']}: {result['n_samples']} sample(s) of {len(result['runs'])} run(s) "
            f"({result['n_computed']} scored, {result['n_cached']} from the cache, {result['n_failed']} failed) in "
            f"{Path(result['output_path']) / result['cache_file']}; "
            + ("rank 0 merges them and writes the reports" if result.get("torchrun") else
               "once every shard is done, run the same command without --shard to merge them and write the reports"))


# ---------------------------------------------------------------------------------------------------- torchrun
def _rank_device(cfg: EvaluateConfig, local_rank: int) -> str:
    """``cuda:LOCAL_RANK`` when the device is auto/cuda on a GPU machine (an explicit ``cuda:N`` stays as given)."""
    import torch

    device = resolve_device(cfg.device)
    if device != "cuda":
        return device
    if local_rank >= torch.cuda.device_count():
        raise ConfigError(f"LOCAL_RANK {local_rank} but this machine has {torch.cuda.device_count()} GPU(s): give "
                          f"torchrun --nproc_per_node <= the number of GPUs (or --device cpu)")
    torch.cuda.set_device(local_rank)
    return f"cuda:{local_rank}"


def _run_torchrun(cfg: EvaluateConfig, metric_factory: Optional[Callable], log: Callable[[str], None],
                  write_reports: bool) -> dict:
    """Every rank scores shard RANK/WORLD_SIZE; they exchange their status (gloo: a few bytes, whatever the device,
    with ``shard_wait_minutes`` as the limit, so a failed or stuck rank stops the others instead of hanging them);
    rank 0 then merges and writes the reports."""
    rank, world, local_rank = torchrun_rank()
    label = format_shard((rank, world))
    device = _rank_device(cfg, local_rank)
    with gloo_group(cfg.shard_wait_minutes):            # the other ranks wait for rank 0's reports before they leave
        error: Optional[BaseException] = None
        summary = None
        try:
            shard_cfg = dataclasses.replace(cfg, shard=label, device=device, progress=cfg.progress and rank == 0)
            summary = _run(shard_cfg, metric_factory, lambda line: log(f"[shard {label}] {line}"), False)
        except Exception as exc:  # noqa: BLE001 - every failure is told to the other ranks, then raised here
            error = exc
        failed = gather_failures(error, rank, world, cfg.shard_wait_minutes,
                                 resume="the samples scored are kept, run the command again to resume")
        if error is not None:
            raise error
        if failed:
            raise KitError("; ".join(failed) + "; no reports written (the samples scored are kept: run the command "
                                               "again to resume)")
        if rank != 0:
            return {**summary, "torchrun": True}
        return _run(cfg, metric_factory, log, write_reports, launcher={"launcher": "torchrun", "world_size": world})
