"""DaGAN outputs for a set of (source, driving) pairs — an evaluation set's ``generate_dagan_*`` folder — resumable.

    pairs = find_pairs("evaluation_set/source_self", "evaluation_set/gt_self")      # or pairs_csv="pairs.csv"
    summary = generate(model, pairs, "evaluation_set/generate_dagan_self")

Pairs come from :func:`talkingface.evalset.generator_pairs` (the one ``pairs.csv`` format, or same-stem files of
two folders). A driving video gives ``<id>.mp4`` (its frame rate and audio kept, relative motion from its first
frame unless told otherwise); a driving image gives ``<id>.png`` with **absolute** motion: relative motion from a
single frame is measured against that same frame and would just reproduce the source. The folder is a
:class:`talkingface.generated.GeneratedFolder`: every output is recorded in its provenance.json with what made it;
outputs this maker already made are skipped, so an interrupted run resumes; a failing pair is logged and recorded,
and the others still run.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from talkingface.errors import KitError
from talkingface.evalset import PairRow, generator_pairs
from talkingface.generated import GeneratedFolder
from talkingface.media import is_video

log = logging.getLogger(__name__)

IMAGE_MOTION_NOTE = "absolute (relative motion from a single driving image would reproduce the source)"


@dataclass
class GenerateSummary:
    generated: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)        # (id, message)
    absolute_motion: list = field(default_factory=list)  # ids of single-image pairs

    def counts(self) -> dict[str, int]:
        return {"generated": len(self.generated), "skipped_existing": len(self.skipped), "failed": len(self.failed),
                "single_image_pairs": len(self.absolute_motion)}


def find_pairs(source_dir: str | Path | None, driving_dir: str | Path | None,
               pairs_csv: str | Path | None = None) -> list[PairRow]:
    """The pairs to generate: the rows of ``pairs_csv``, else same-stem files of the two folders (driving files
    without a source are logged as warnings). ConfigError when there is none or a file is missing."""
    warnings: list[str] = []
    pairs = generator_pairs(source_dir, driving_dir, pairs_csv, warnings)
    for warning in warnings:
        log.warning(warning)
    return pairs


def output_path(pair: PairRow, folder: str | Path) -> Path:
    """``<folder>/<id>.mp4`` for a driving video, ``<folder>/<id>.png`` for a driving image."""
    return Path(folder) / f"{pair.id}{'.mp4' if is_video(pair.driving) else '.png'}"


def generate(model, pairs: list[PairRow], folder: GeneratedFolder, *, relative: bool = True,
             adapt_scale: bool = False, batch_size: int | None = None, progress: bool = True,
             crop=None, desc: str = "generate") -> GenerateSummary:
    """Write one output per pair into the generated ``folder``, skipping outputs its maker already made. ``crop``:
    a :class:`dagan.framing.FaceCrop` (crop settings belong in the folder's maker; a pair without a face fails).
    ``pairs`` may be one shard's part of the list (``talkingface.shards.take_shard``) when the folder is that
    shard's (``GeneratedFolder(..., shard=(i, n))``); ``desc`` labels the progress bar."""
    from tqdm import tqdm

    from dagan.framing import frame_source
    from dagan.pipeline import animate_image, animate_video, read_source
    from talkingface.media import read_image, write_image

    summary = GenerateSummary()
    for pair in tqdm(pairs, unit="pair", desc=desc, disable=not progress):
        out = output_path(pair, folder.folder)
        if folder.done(out.name):
            summary.skipped.append(pair.id)
            continue
        try:
            source = frame_source(read_source(pair.source), str(pair.source), crop)
            if is_video(pair.driving):
                result = animate_video(model, source, pair.driving, out, relative=relative, adapt_scale=adapt_scale,
                                       batch_size=batch_size, keep_audio=True, progress=False, crop=crop)
                log.info("%s: %d frames, audio %s", out.name, result.frames, "kept" if result.audio else "none")
                motion = "relative" if relative else "absolute"
            else:
                log.info("%s: driving %s is an image: motion %s", out.name, pair.driving.name, IMAGE_MOTION_NOTE)
                write_image(out, animate_image(model, source, read_image(pair.driving), crop, str(pair.driving)))
                summary.absolute_motion.append(pair.id)
                motion = "absolute"
        except KitError as exc:
            log.error("%s: %s", pair.id, exc)
            summary.failed.append((pair.id, str(exc)))
            continue
        folder.add(out.name, source=pair.source, driving=pair.driving, motion=motion)
        summary.generated.append(pair.id)
    return summary
