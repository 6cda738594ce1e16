"""``syncnet.evaluate_video``: input checks, 25 fps normalisation, the two modes, notes on anything unusual."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from syncnet.model import get_syncnet
from syncnet.protocol import (
    FRAME_SIZE,
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
    SyncNetResult,
    ffmpeg_jpeg_frames,
    read_audio_16k,
    score_streams,
)
from syncnet.track import TrackOptions, face_track_scores
from talkingface.device import resolve_device
from talkingface.errors import KitError, MediaError
from talkingface.metrics.protocols import LSE_MODES as MODES

FPS = 25


def make_detector(s3fd_weights, opts: TrackOptions, device: torch.device):
    """(detector, reference?, note): S3FD from ``s3fd_weights`` (None → the manifest's ``s3fd`` when present), else
    OpenCV's Haar cascade as a labelled non-reference stand-in."""
    from syncnet.s3fd import HaarDetector, detect_faces_batch, load_s3fd

    if s3fd_weights is None:
        from talkingface.weights import weight_path

        candidate = weight_path("s3fd", required=False)
        s3fd_weights = candidate if candidate.is_file() else None
    if s3fd_weights is None:
        return HaarDetector(), False, ("S3FD weights (sfd_face.pth) absent: faces detected with OpenCV's Haar "
                                       "cascade instead; these are not reference LSE numbers")
    net = load_s3fd(s3fd_weights, device)
    return (lambda images: detect_faces_batch(net, images, opts.conf_th, (opts.facedet_scale,), device)), True, None


def evaluate_video(path, weights=None, device="cpu", *, mode: str = "whole-frame", s3fd_weights=None,
                   batch_size: int = 32, track_options: TrackOptions | None = None) -> SyncNetResult:
    """LSE-D / LSE-C of one video by syncnet_python's protocol (docs/lse_protocol.md).

    ``weights``: path of ``syncnet_v2.model``, a loaded :class:`SyncNet`, or None for the manifest's ``syncnet_v2``.
    ``mode``: ``whole-frame`` (every frame resized to 224×224, Wav2Lip's LRS evaluation) or ``face-track``
    (syncnet_python's run_pipeline: S3FD, IoU tracking, crop; ``s3fd_weights`` / ``track_options``).
    Inputs that are not 25 fps are re-timed first; short/silent/mismatched audio is scored and noted in
    ``result.notes``; no audio stream, unreadable files or fewer than 6 frames raise a one-line MediaError.
    """
    from talkingface.media import probe, to_constant_fps
    from talkingface.media.ffmpeg import ffmpeg_version

    if mode not in MODES:
        raise KitError(f"unknown LSE mode {mode!r}; use one of {', '.join(MODES)}")
    if int(batch_size) < 1:
        raise KitError(f"batch size must be >= 1, got {batch_size}")
    info = probe(path)
    path = info.path
    if not info.has_video:
        raise MediaError(f"{path}: has no video stream")
    if not info.has_audio:
        raise MediaError(f"{path}: has no audio stream; LSE-D/LSE-C measure lip sync against the speech track")
    dev = torch.device(resolve_device(device))
    model = get_syncnet(weights, dev)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="syncnet_") as tmp:
        src = path
        if abs(info.fps - FPS) > 1e-3:
            src, fps = Path(tmp) / "25fps.mp4", info.fps
            info = to_constant_fps(path, src, FPS)
            notes.append(f"re-timed from {fps:.3f} fps to 25 fps (talkingface.media.to_constant_fps) before scoring")
        audio = read_audio_16k(src)
        if audio.size == 0:
            raise MediaError(f"{path}: the audio stream holds no samples")
        peak = int(np.abs(audio.astype(np.int32)).max())
        if peak == 0:
            notes.append("audio is silent (all samples zero): scores computed but they measure no lip sync")
        elif peak < 33:
            notes.append(f"audio is nearly silent (peak {peak}/32767): scores computed, read them with care")
        audio_frames = len(audio) // SAMPLES_PER_FRAME
        video_frames = info.frame_count
        if audio_frames < video_frames:
            notes.append(f"audio ({len(audio) / SAMPLE_RATE:.2f} s) is shorter than the video "
                         f"({video_frames / FPS:.2f} s): only the first {audio_frames} frames are scored")
        elif audio_frames > video_frames + 1:
            notes.append(f"video ({video_frames / FPS:.2f} s) is shorter than the audio "
                         f"({len(audio) / SAMPLE_RATE:.2f} s): the audio past the last frame is not scored")
        if mode == "whole-frame":
            result = score_streams(model, ffmpeg_jpeg_frames(src, size=FRAME_SIZE), audio, dev, batch_size,
                                   what=str(path))
            reference = True
        else:
            opts = track_options or TrackOptions()
            detector, reference, note = make_detector(s3fd_weights, opts, dev)
            if note:
                notes.append(note)
            result = face_track_scores(src, model, detector, audio, opts, dev, batch_size, video_frames)
    result.mode = mode
    result.reference = reference
    result.notes = notes + result.notes
    result.video_frames = max(result.video_frames, video_frames)
    result.ffmpeg = ffmpeg_version()
    return result
