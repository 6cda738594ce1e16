"""Preprocessing shared by the models' ``preprocess`` commands: a resumable, sharded, multi-process run over videos.

    from talkingface.preprocess import Job, WorkResult, find_videos, run_jobs
"""
from talkingface.preprocess.runner import (
    DONE,
    FAILED,
    SKIPPED,
    TOO_LONG,
    VIDEO_SUFFIXES,
    Job,
    WorkResult,
    clock,
    find_videos,
    in_shard,
    parse_shard,
    run_jobs,
)

__all__ = ["DONE", "FAILED", "SKIPPED", "TOO_LONG", "VIDEO_SUFFIXES", "Job", "WorkResult", "clock", "find_videos",
           "in_shard", "parse_shard", "run_jobs"]
