"""The static baseline: each source image held still for the length of its driving clip, with the clip's audio.

It is the floor every generator must beat (no motion at all), and lets the evaluation stage run before any
generator exists. Outputs follow the evaluation_set layout; the folder's provenance.json says they are the static
baseline (:mod:`talkingface.generated`), so every report labels them so.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from talkingface.errors import MediaError
from talkingface.generated import GeneratedFolder, Maker
from talkingface.media import VideoReader, VideoWriter
from talkingface.media.images import is_image, is_video, read_image

LABEL = "static baseline: the source held still (no motion), the floor to beat"


def static_source_baseline(source_dir: str | Path, driving_dir: str | Path, out_dir: str | Path,
                           chunk: int = 32) -> list[Path]:
    """For every `<stem>` with an image in source_dir and a video in driving_dir, write out_dir/<stem>.mp4.

    The output has the driving clip's fps, frame count and audio, and the source image (resized to the driving
    frame size, area filter) in every frame. Outputs made earlier are kept (resumable); out_dir is never an input
    folder nor a folder of files the kit did not make. Returns the written or kept paths.
    """
    source_dir, driving_dir, out_dir = Path(source_dir), Path(driving_dir), Path(out_dir)
    for folder in (source_dir, driving_dir):
        if not folder.is_dir():
            raise MediaError(f"{folder}: folder not found")
    sources = {p.stem: p for p in sorted(source_dir.iterdir()) if is_image(p)}
    drivings = {p.stem: p for p in sorted(driving_dir.iterdir()) if is_video(p)}
    stems = sorted(sources.keys() & drivings.keys())
    if not stems:
        raise MediaError(f"{source_dir} and {driving_dir}: no source image and driving video share a file name")
    folder = GeneratedFolder(out_dir, Maker("static-baseline", label=LABEL, settings={"resize": "cv2 INTER_AREA"}),
                             inputs=[source_dir, driving_dir], what="--save_folder")
    written = []
    for stem in stems:
        target = out_dir / f"{stem}.mp4"
        written.append(target)
        if folder.done(target.name):
            continue
        with VideoReader(drivings[stem]) as reader:
            width, height = reader.size
            image = read_image(sources[stem])
            if image.shape[:2] != (height, width):
                import cv2

                image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            audio = reader.info if reader.has_audio else None
            with VideoWriter(target, fps=reader.fps, audio=audio) as writer:
                for frames in reader.chunks(chunk):
                    writer.write(np.broadcast_to(image, frames.shape))
        folder.add(target.name, source=sources[stem], driving=drivings[stem])
    return written
