"""The inputs of benchmarks/bench_lawdnet.py, made before any clock starts: the template video (the kit's sample
head in a 1280x720 frame), the looped sample speech, and the template's landmarks (the offline backend, an
OpenFace CSV of them, or ``--landmarks_csv``'s for an OpenCV without Haar cascades).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np


def make_template(path: Path, frames: int, size=(1280, 720), face=640) -> Path:
    """The sample head (talkingface.sample) rendered at 256, scaled to ``face`` px, centred in a ``size`` frame."""
    import cv2
    from skimage.data import astronaut

    from talkingface import sample
    from talkingface.media import VideoWriter

    photo = astronaut()
    w, h = size
    with VideoWriter(path, 25) as writer:
        for i in range(frames):
            head = cv2.resize(sample.render_frame(photo, i / 25, sample.Motion(), 0.3 + 0.3 * np.sin(i / 3)),
                              (face, face), interpolation=cv2.INTER_CUBIC)
            canvas = np.full((h, w, 3), 90, np.uint8)
            top, left = (h - face) // 2, (w - face) // 2
            canvas[max(top, 0):max(top, 0) + min(face, h), left:left + face] = head[max(-top, 0):max(-top, 0) + h]
            writer.write(canvas)
    return path


def make_audio(path: Path, seconds: float) -> Path:
    """The sample speech looped to ``seconds`` (16 kHz mono wav)."""
    from talkingface import sample
    from talkingface.media import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-stream_loop", "-1", "-i",
                    str(sample.SPEECH_WAV), "-t", f"{seconds:.3f}", "-ac", "1", "-ar", "16000", str(path)], check=True)
    return path


def landmark_backend(args):
    """The offline (Haar) landmarks, or ``--landmarks_csv``'s OpenFace CSV for machines whose OpenCV lacks Haar."""
    from talkingface.landmarks import make_backend

    if args.landmarks_csv:
        return make_backend("openface-csv", csv_path=args.landmarks_csv)
    return make_backend("offline")


def save_landmarks_csv(template: Path, path) -> int:
    """The offline backend's landmarks of every template frame, as an OpenFace CSV (frame from 1, x_*, y_*)."""
    from talkingface.landmarks import make_backend
    from talkingface.media import VideoReader

    backend = make_backend("offline")
    lines = [",".join(["frame", "success"] + [f"x_{i}" for i in range(68)] + [f"y_{i}" for i in range(68)])]
    for index, frame in enumerate(VideoReader(template), start=1):
        points = backend.detect(frame)
        if points is None:
            lines.append(f"{index},0," + ",".join(["0"] * 136))
            continue
        lines.append(f"{index},1," + ",".join(f"{v:.3f}" for v in [*points[:, 0], *points[:, 1]]))
    Path(path).write_text("\n".join(lines) + "\n")
    print(f"wrote {path}: {len(lines) - 1} frames")
    return 0
