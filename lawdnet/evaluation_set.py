"""LawDNet lip-sync outputs for a set of (template video, speech) pairs — an evaluation set's ``generate_lawdnet*``
folder — resumable.

    pairs = find_pairs("evaluation_set/source_self", "evaluation_set/gt_self")      # or pairs_csv="pairs.csv"
    summary = generate(model, extractor, backend, pairs, folder, cache_dir=folder.folder / TEMPLATE_CACHE)

Pairs: every speech file of the audio folder (an audio file, or a video whose audio track is used) with the template
video of the same stem in the video folder, or the rows of a pairs CSV — the kit's one format
(:mod:`talkingface.evalset.pairs`) with ``video`` and ``audio`` read as its ``source`` and ``driving`` columns, ``id``
the output's name (default: the stem of the audio). Each pair gives ``<id>.mp4``: the template lip-synced to the
speech by :func:`lawdnet.pipeline.lip_sync_video` (25 fps, as long as the speech, carrying it), exactly what
``python -m lawdnet.infer`` writes for the same files and settings. One model and one template cache serve every
pair. The folder is a :class:`talkingface.generated.GeneratedFolder`: every output is recorded in its
provenance.json with what made it; outputs this maker already made are skipped, so an interrupted run resumes; a
failing pair is logged and recorded, and the others still run.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lawdnet import config
from talkingface.errors import ConfigError, KitError
from talkingface.evalset import few, media_files, read_pairs
from talkingface.generated import GeneratedFolder
from talkingface.media import VIDEO_EXTENSIONS, is_video

if TYPE_CHECKING:
    from lawdnet.model import LipSyncModel

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus")
CSV_ALIASES = {"video": "source", "audio": "driving"}     # our column names -> the kit's pairs format
TEMPLATE_CACHE = ".template_cache"    # the template cache inside the output folder (hidden: the evaluator skips it)


@dataclass(frozen=True)
class LipSyncPair:
    """One output to make: ``<id>.mp4`` from the template ``video`` lip-synced to the speech of ``audio``."""

    id: str
    video: Path
    audio: Path
    line: int = 0                 # the row of the pairs CSV (0: paired by file name)


@dataclass
class GenerateSummary:
    generated: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)        # (id, message)

    def counts(self) -> dict[str, int]:
        return {"generated": len(self.generated), "skipped_existing": len(self.skipped), "failed": len(self.failed)}


def _csv_pairs(pairs_csv: str | os.PathLike, video_dir, audio_dir) -> list[LipSyncPair]:
    folders = {"source": [Path(video_dir)] if video_dir else [],
               "driving": [Path(audio_dir)] if audio_dir else [], "gt": [Path(audio_dir)] if audio_dir else []}
    rows = read_pairs(pairs_csv, folders, required=("source",), aliases=CSV_ALIASES)
    for row in rows:
        problems = [p for p in row.problems if not p.startswith("gt ")]          # the ground truth is not needed
        if problems:
            raise ConfigError(f"{pairs_csv}:{row.line}: {problems[0]}")
    return [LipSyncPair(row.id, row.source, row.driving, row.line) for row in rows]


def find_pairs(video_dir: str | os.PathLike | None, audio_dir: str | os.PathLike | None,
               pairs_csv: str | os.PathLike | None = None) -> list[LipSyncPair]:
    """The pairs to make: the rows of ``pairs_csv`` (relative paths looked up in ``video_dir`` / ``audio_dir``, then
    next to the CSV), else every speech file of ``audio_dir`` with the video of the same stem in ``video_dir``
    (speech without a video is logged as a warning). ConfigError when there is none or a file is missing."""
    if pairs_csv is not None:
        return _csv_pairs(pairs_csv, video_dir, audio_dir)
    for folder, flag in ((video_dir, "--video_dir"), (audio_dir, "--audio_dir")):
        if folder is None:
            raise ConfigError(f"{flag} is needed (or --pairs pairs.csv)")
        if not Path(folder).is_dir():
            raise ConfigError(f"{flag} {folder}: folder not found")
    warnings: list[str] = []
    media = media_files(Path(video_dir), warnings)
    videos = {stem: path for stem, path in media.items() if is_video(path)}
    if len(videos) < len(media):
        warnings.append(f"{video_dir}: ignored {len(media) - len(videos)} image(s): LawDNet lip-syncs template "
                        f"videos ({few([p.name for s, p in media.items() if s not in videos])})")
    speech = media_files(Path(audio_dir), warnings, AUDIO_EXTENSIONS + VIDEO_EXTENSIONS, "audio nor videos")
    unmatched = [path.name for stem, path in speech.items() if stem not in videos]
    if unmatched:
        warnings.append(f"{len(unmatched)} speech file(s) have no template video of the same name in {video_dir}: "
                        f"{few(unmatched)}")
    for warning in warnings:
        log.warning(warning)
    pairs = [LipSyncPair(stem, videos[stem], path) for stem, path in speech.items() if stem in videos]
    if not pairs:
        raise ConfigError(f"no pairs: no file of {audio_dir} has a template video of the same name in {video_dir}")
    return pairs


def output_path(pair: LipSyncPair, folder: str | os.PathLike) -> Path:
    """``<folder>/<id>.mp4``."""
    return Path(folder) / f"{pair.id}.mp4"


def generate(model: LipSyncModel, extractor: Callable[[str | os.PathLike], Any], backend, pairs: list[LipSyncPair],
             folder: GeneratedFolder, *, batch_size: int = 20, start_s: float = 0.0, max_frames: int | None = None,
             seed: int = config.SEED, cache_dir: str | os.PathLike | None = None, progress: bool = True,
             desc: str = "generate") -> GenerateSummary:
    """Write one output per pair into the generated ``folder``, skipping outputs its maker already made.
    ``extractor``: a :class:`lawdnet.loading.FeatureSource`; ``backend``: a :mod:`talkingface.landmarks` backend;
    ``cache_dir``: the template cache every pair shares (None: each pair prepares its template in a temporary
    folder). The settings (``start_s``, ``max_frames``, ``seed``, the mouth size and backend) belong in the folder's
    maker. ``pairs`` may be one shard's part of the list (``talkingface.shards.take_shard``) when the folder is that
    shard's (``GeneratedFolder(..., shard=(i, n))``); ``desc`` labels the progress bar. A pair whose files are
    unusable (empty, no face, no audio stream, silent) fails alone."""
    from tqdm import tqdm

    from lawdnet.pipeline import lip_sync_video, probe_speech, probe_template

    summary = GenerateSummary()
    for pair in tqdm(pairs, unit="pair", desc=desc, disable=not progress):
        out = output_path(pair, folder.folder)
        if folder.done(out.name):
            summary.skipped.append(pair.id)
            continue
        try:
            video = probe_template(pair.video, start_s)
            audio = probe_speech(pair.audio)
            folder.folder.mkdir(parents=True, exist_ok=True)
            result = lip_sync_video(model, video.path, audio.path, out, extractor, backend, batch_size=batch_size,
                                    start_s=start_s, max_frames=max_frames, seed=seed, cache_dir=cache_dir)
        except KitError as exc:
            log.error("%s: %s", pair.id, exc)
            summary.failed.append((pair.id, str(exc)))
            continue
        log.info("%s: %d frames, %.1f s of speech, template %d frames%s", out.name, result.frames,
                 result.audio["seconds"], result.template["frames"],
                 ", played back and forth" if result.template["ping_pong"] else "")
        folder.add(out.name, video=pair.video, audio=pair.audio, frames=result.frames)
        summary.generated.append(pair.id)
    return summary
