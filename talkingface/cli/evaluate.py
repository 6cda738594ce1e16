"""`python -m talkingface evaluate` — score generated folders of an evaluation set; a thin CLI over
talkingface.evaluation.evaluate. Flags override config/evaluate/default.yaml (or --config).

Scale-out (docs/scale_out.md): ``--shard i/n`` scores one part and writes no report (a later run without --shard
merges); under ``torchrun --nproc_per_node N -m talkingface evaluate …`` every rank scores its part, rank 0 merges.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Sequence

from talkingface.cli import CommandParser
from talkingface.device import DEVICE_HELP
from talkingface.errors import KitError, cli_main
from talkingface.evaluation.config import DEFAULT_METRICS
from talkingface.metrics.protocols import FID_DIMS, FRECHET_METHODS, LSE_MODES, NIQE_PROTOCOLS, SPECS, SSIM_PROTOCOLS

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "config" / "evaluate" / "default.yaml"


def _bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    p = CommandParser(
        prog="python -m talkingface evaluate",
        description="Score generated folders of an evaluation set (NIQE, PSNR, SSIM, FID, LPIPS, LSE-C/D) and "
                    "write full_results.json, per_sample.csv, summary.md, evaluation_summary.txt and report.html. "
                    "A killed run resumes from <output_path>/results_cache.jsonl when started again.")
    a = p.add_argument
    a("--config", help=f"YAML config with the defaults of every option (default: {DEFAULT_CONFIG} when present)")
    a("--base_dir", help="evaluation_set folder: source_self/ gt_self/ source_cross/ gt_cross/ generate_*/")
    a("--output_path", help="folder for results, reports, the resume cache and FID statistics")
    a("--generate_dirs", nargs="+", metavar="DIR",
      help="generated folders (names under base_dir, or paths; comma or space separated); default: every "
           "generate_* folder. '*_self' folders are scored against gt_self/, others against gt_cross/")
    a("--pairs", help="pairs.csv (format: docs/architecture.md, 'pairs.csv'): columns driving or gt, and optionally "
                      "id, source, source_id, driving_id; equal ids = same identity (PSNR/SSIM/LPIPS computed); "
                      "relative paths are looked up in base_dir, then next to the CSV")
    a("--metrics", nargs="+", metavar="METRIC",
      help=f"metrics to score, comma or space separated (default: {','.join(DEFAULT_METRICS)}; known: "
           f"{', '.join(SPECS)}); l1, akd, aed (same-identity ground truth) and csim (the source image, any identity) "
           "are scored when named. A metric whose inputs or weights are missing is reported as unavailable, with the "
           "reason")
    a("--device", help=DEVICE_HELP)
    a("--batch_size", type=int, help="frames per metric call (frames of consecutive samples are batched together)")
    a("--ssim_protocol", choices=list(SSIM_PROTOCOLS),
      help="SSIM protocol: standard (Wang et al., Gaussian 1.5) or fomm (the DaGAN/MCNet authors' call)")
    a("--niqe_variant", choices=list(NIQE_PROTOCOLS), help="NIQE gray conversion: pyiqa (default) or matlab")
    a("--resize", nargs="?", const=True, type=_bool,
      help="resize generated frames to the ground-truth size when they differ (otherwise that pair is an error)")
    a("--save_visuals", nargs="?", const=True, type=_bool,
      help="write source | ground truth | generated PNGs per sample into <output_path>/visuals")
    a("--max_samples", type=int, help="score at most this many samples per generated folder")
    a("--fid_max_frames_per_video", type=int,
      help="FID: at most this many evenly spaced frames per video (default: all frames)")
    a("--fid_dims", type=int, choices=FID_DIMS,
      help="FID feature dimension: 2048 = the standard pool3 protocol; smaller only for quick, non-comparable checks")
    a("--fid_method", choices=FRECHET_METHODS,
      help="FID's trace term: auto (default: from eigenvalues when both sets have more frames than --fid_dims, "
           "equal to pytorch-fid's sqrtm to 1e-6 and several times faster; else sqrtm), eig, or sqrtm (pytorch-fid's "
           "own calculate_frechet_distance, the reference)")
    a("--lse_mode", choices=LSE_MODES, help="SyncNet LSE mode")
    a("--report_examples", type=int, help="best and worst samples shown per run in report.html")
    a("--no_progress", action="store_true", help="no progress bar")
    a("--shard", metavar="I/N",
      help="score only the samples at positions I, I+N, I+2N, … of every run (0 <= I < N; job arrays: Slurm, "
           "Kubernetes indexed jobs) into <output_path>/results_cache.shard-I-of-N.jsonl, writing no report; once "
           "every shard is done, the same command without --shard merges them (nothing is scored twice) and writes "
           "the reports. Under torchrun leave it out: each rank takes shard RANK/WORLD_SIZE and rank 0 merges")
    a("--shard_wait_minutes", type=float,
      help="torchrun: how long a rank that finished its shard waits for the others before giving up (default 120)")
    return p


@cli_main
def main(argv: Sequence[str] | None = None) -> int:
    from talkingface.evaluation import evaluate

    args = build_parser().parse_args(argv)
    config = args.config or (str(DEFAULT_CONFIG) if DEFAULT_CONFIG.is_file() else None)
    options = {k: getattr(args, k) for k in ("pairs", "metrics", "device", "batch_size", "ssim_protocol",
                                             "niqe_variant", "resize", "save_visuals", "max_samples",
                                             "fid_max_frames_per_video", "fid_dims", "fid_method", "lse_mode",
                                             "report_examples", "shard", "shard_wait_minutes")}
    if args.no_progress:
        options["progress"] = False
    if args.metrics:
        options["metrics"] = [m.strip() for item in args.metrics for m in item.split(",") if m.strip()]
    dirs = None
    if args.generate_dirs:
        dirs = [d.strip() for item in args.generate_dirs for d in item.split(",") if d.strip()]
    results = evaluate(args.base_dir, dirs, args.output_path, config=config, distributed=True, **options)
    if "shard" in results:                   # one part of a split run: no reports here
        from talkingface.evaluation import shard_message

        print(shard_message(results))
        return 0
    out = Path(results["args"]["output_path"])
    from talkingface.report import summary_text

    print(summary_text(results), end="")
    print(f"reports written to {out}/ (report.html, summary.md, paper_table.md, full_results.json, per_sample.csv)")
    if results["n_values"] == 0:             # not a single number: say why (first failure, else the metric notes)
        runs = results["runs"]
        first = next((s["error"] for r in runs for s in r["samples"] if s.get("error")), None)
        first = first or next((r["error"] for r in runs if r.get("error")), None)
        first = first or next((f"{n}: {m['note']}" for r in runs for n, m in r["metrics"].items() if m.get("note")),
                              "no sample to score")
        raise KitError(f"nothing could be evaluated ({results['n_failed']} sample(s) failed; first: {first})")
    if results["n_failed"]:
        logging.getLogger("talkingface.evaluation").warning("%d sample(s) could not be evaluated (see summary.md)",
                                                            results["n_failed"])
    return 0
