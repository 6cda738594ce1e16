"""Run the chosen preprocessing steps over a folder of videos, each step resumable and sharded, and merge one report."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lawdnet.prep import layout
from lawdnet.prep.training_json import MIN_CLIPS, build_training_json, length_fix, videos_on_disk
from talkingface.fsutil import write_text_atomic
from talkingface.preprocess import FAILED, TOO_LONG, Job, find_videos, run_jobs

log = logging.getLogger("lawdnet")
REPORT = "preprocess_report.json"


@dataclass
class Plan:
    """What to run: ``steps`` among layout.STEPS (+ ``"json"``) and the settings the steps need."""

    output_dir: Path
    steps: tuple[str, ...]
    input_dir: Path | None = None
    features: tuple[str, ...] = ("dp1", "dp2")
    workers: int = 1
    threads: int = 1
    shard: str | None = None
    landmarks: str = "auto"
    openface_dir: Path | None = None
    model_paths: dict[str, Path | None] = field(default_factory=dict)
    model_labels: dict[str, str] = field(default_factory=dict)
    random_seed: int | None = None
    clip_length: int = 9
    crop_width: int = 640
    device: str = "cpu"
    progress: bool = True
    path_root: str | None = None
    min_clips: int = MIN_CLIPS
    max_minutes: float | None = None

    def settings(self) -> dict[str, Any]:
        return {"steps": list(self.steps), "features": list(self.features), "landmarks": self.landmarks,
                "openface_dir": None if self.openface_dir is None else str(self.openface_dir),
                "models": self.model_labels, "random_seed": self.random_seed, "fps": 25, "audio_rate": 16000,
                "clip_length": self.clip_length, "crop_size": [int(1.3 * self.crop_width), self.crop_width],
                "device": self.device, "input_dir": None if self.input_dir is None else str(self.input_dir),
                "json_path_root": self.path_root, "max_minutes": self.max_minutes}


def make_work(plan: Plan, step: str):
    """The picklable per-video work of ``step``."""
    root = Path(plan.output_dir)
    if step == "frames":
        from lawdnet.prep.frames import FramesWork

        return FramesWork()
    if step == "audio":
        from lawdnet.prep.audio import AudioWork

        return AudioWork()
    if step in ("dp1", "dp2"):
        from lawdnet.prep.features import FeatureWork

        return FeatureWork(step, root, plan.model_paths.get(step), plan.device, plan.random_seed)
    if step == "crops":
        from lawdnet.prep.crops import CropWork

        return CropWork(root, plan.landmarks, plan.openface_dir, plan.clip_length, plan.crop_width, plan.device)
    raise ValueError(f"unknown step {step!r}")


def _shard_name(name: str, shard: str | None) -> str:
    return name if shard is None else name.replace(".json", f".shard-{shard.replace('/', '-of-')}.json")


def _tidy(root: Path) -> None:
    """Remove the runner's empty scratch folders (left while another shard is at work, they are not empty)."""
    partial = root / ".partial"
    for folder in [*(partial / s for s in layout.STEPS), partial]:
        try:
            folder.rmdir()
        except OSError:
            pass


def merge_report(root: Path, videos: list[str], ran: dict[str, dict[str, dict]], plan: Plan,
                 training: dict | None) -> dict[str, Any]:
    """One report: per video its duration and every step's record (run now or done earlier), failures and videos
    skipped (over ``max_minutes``) with reasons, and each disagreement between feature rows and video frames with
    the fix :func:`lawdnet.features.align_rows` applies."""
    out, failed, skipped, mismatches = {}, {}, {}, {}
    for video in videos:
        steps = {}
        for step in layout.STEPS:
            rec = ran.get(step, {}).get(layout.job_id(step, video)) or layout.marker(root, step, video)
            if rec is not None:
                steps[step] = rec if step in ran else {**rec, "status": rec.get("status", "done") + " earlier"}
        reasons = {s: r["reason"] for s, r in steps.items() if r.get("status") == FAILED}
        if reasons:
            failed[video] = reasons
        too_long = [r["reason"] for r in steps.values() if r.get("status") == TOO_LONG]
        if too_long and not reasons:
            skipped[video] = too_long[0]
        frames = steps.get("frames", {}).get("frames")
        check = {f"{k}_rows": steps[k][f"{k}_rows"] for k in ("dp1", "dp2") if f"{k}_rows" in steps.get(k, {})}
        if frames is not None and check:
            fixes = {f"{k[:3]}_fix": length_fix(frames, rows) for k, rows in check.items()}
            if any(fixes.values()):
                mismatches[video] = {"frames": frames, **check, **fixes}
        duration = next((r["duration"] for r in steps.values() if r.get("duration") is not None), None)
        out[video] = {"status": FAILED if reasons else TOO_LONG if video in skipped else "done",
                      "duration": duration, **({"reason": skipped[video]} if video in skipped else {}),
                      "steps": steps}
    counts = {step: {s: sum(r.get("status") == s for r in recs.values())
                     for s in ("done", "done earlier", FAILED, TOO_LONG)} for step, recs in ran.items()}
    return {"settings": plan.settings(), "shard": plan.shard, "workers": plan.workers,
            "counts": {"videos": len(videos), "failed": len(failed), "skipped": len(skipped), "steps": counts},
            "failed": failed, "skipped": skipped, "length_mismatches": mismatches, "training_json": training,
            "videos": out}


def preprocess(plan: Plan) -> dict[str, Any]:
    """Run ``plan``: each per-video step over every video (of the shard) not done with it yet, then the JSON; write
    and return the merged report (``preprocess_report.json``, per shard ``.shard-i-of-n.json``)."""
    root = Path(plan.output_dir)
    root.mkdir(parents=True, exist_ok=True)
    jobs = find_videos(plan.input_dir, plan.shard) if plan.input_dir is not None else []
    names = [job.id for job in jobs]
    ran: dict[str, dict[str, dict]] = {}
    for step in (s for s in layout.STEPS if s in plan.steps):
        step_jobs = [Job(job.path, layout.job_id(step, job.id)) for job in jobs]
        log.info("step %s: %d video(s)", step, len(step_jobs))
        report = run_jobs(step_jobs, make_work(plan, step), root, workers=plan.workers, threads=plan.threads,
                          report_name=f"{layout.STEP_REPORTS}/{step}.json", settings=plan.settings(),
                          progress=plan.progress, shard=plan.shard, max_minutes=plan.max_minutes)
        ran[step] = report["videos"]
    _tidy(root)
    training = None
    if "json" in plan.steps:
        too_long = {j.split("/", 1)[1] for recs in ran.values() for j, r in recs.items() if r["status"] == TOO_LONG}
        videos = [v for v in names if v not in too_long] if plan.input_dir is not None else videos_on_disk(root)
        training = build_training_json(root, videos, plan.features, plan.clip_length, plan.path_root,
                                       plan.min_clips, _shard_name(layout.JSON, plan.shard))
        names = names or videos
    report = merge_report(root, names, ran, plan, training)
    write_text_atomic(root / _shard_name(REPORT, plan.shard), json.dumps(report, indent=1, default=str))
    return report
