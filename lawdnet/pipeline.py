"""LawDNet lip-sync on files: audio features, the prepared template, then read -> batch -> infer -> paste -> write.

    model = LipSyncModel.load(ckpt, model="lawdnet", mouth=288, device="cuda")
    extractor = Dp2Extractor(dp2_ckpt, device="cuda")
    result = lip_sync_video(model, "template.mp4", "speech.mp3", "out.mp4", extractor, backend)

The output is 25 fps and as long as the audio (:func:`lawdnet.features.frame_count`; ``max_frames`` caps it): the
template plays forward, backward, forward … when the audio is longer (:mod:`lawdnet.template_clip`). Frames are
decoded on a background thread a few batches ahead of the model, and the H.264 encoder (ffmpeg) runs in its own
process: nothing holds the video or the features of more than a few batches beyond the (T, 29, 5) windows, so
memory does not grow with the audio's length. The output carries the new audio and appears only complete.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lawdnet import config
from lawdnet.model import LipSyncModel
from lawdnet.template import Template, prepare_template
from lawdnet.template_clip import pingpong_blocks
from talkingface.errors import KitError, MediaError
from talkingface.media import MediaInfo

log = logging.getLogger(__name__)


@dataclass
class AudioWindows:
    """The audio's features as the generator takes them: ``windows`` (N, 29, 5), one per output frame."""

    windows: np.ndarray
    rows: int              # feature rows the extractor gave (25 per second)
    frames: int            # output frames (N)
    seconds: float         # the audio's duration
    sample_rate: int       # of the file (before resampling to 16 kHz)


def check_audio(path: str | os.PathLike) -> None:
    """0-length or silent audio (every sample the same: no spectrum, so DeepSpeech features are undefined) is one
    error line naming the file, before any work. A tone or noise has features: it is lip-synced."""
    from lawdnet.features.audio import read_pcm

    rate, samples = read_pcm(path)                 # MediaError naming the file for 0 samples
    if samples.min() == samples.max():
        raise MediaError(f"{path}: the audio is silent (every sample is {int(samples.flat[0])}): DeepSpeech "
                         "features are undefined (the authors' code returns NaN); give audio with sound")


def probe_template(path: str | os.PathLike, start_time_sec: float, what: str = "video") -> MediaInfo:
    """The template video's MediaInfo, after the checks every command makes before loading weights (or, in a batch,
    before a pair's work): it exists, has a video stream, and --start_time_sec lies inside it (one KitError line
    naming the file otherwise)."""
    from talkingface.fsutil import check_input
    from talkingface.media import probe

    video = probe(check_input(path, what))
    if not video.has_video:
        raise KitError(f"{video.path}: has no video stream (a template video with a face is needed)")
    if start_time_sec and start_time_sec >= video.duration:
        raise KitError(f"{video.path}: --start_time_sec {start_time_sec:g} is at or after the video's end "
                       f"({video.duration:.3f} s)")
    return video


def probe_speech(path: str | os.PathLike, what: str = "audio") -> MediaInfo:
    """The speech's MediaInfo, after the same early checks: a non-empty file (audio, or a video with its audio
    track) with an audio stream that is not silent (:func:`check_audio`)."""
    from talkingface.fsutil import check_input
    from talkingface.media import probe

    audio = probe(check_input(path, what))
    if not audio.has_audio:
        raise KitError(f"{audio.path}: has no audio stream")
    check_audio(audio.path)
    return audio


def audio_windows_for(audio: str | os.PathLike, extractor: Callable[[str | os.PathLike], Any],
                      max_frames: int | None = None) -> AudioWindows:
    """Run ``extractor`` (:class:`lawdnet.loading.FeatureSource`: path -> (features (T, 29), samples at 16 kHz,
    the file's sample rate)) and align the rows to the output frames by the one rule of
    :func:`lawdnet.features.align_rows`."""
    from lawdnet.features.windows import align_rows, audio_windows, frame_count

    try:
        features, samples, rate = extractor(audio)
    except MediaError as exc:                     # the feature code's lines do not all name the file
        if str(audio) in str(exc):
            raise
        raise MediaError(f"{audio}: {exc}") from None
    frames = frame_count(samples, 16000)
    if max_frames is not None:
        frames = min(frames, int(max_frames))
    windows = align_rows(audio_windows(features), frames)     # window first: the last frames keep their real context
    return AudioWindows(windows, int(features.shape[0]), frames, samples / 16000, rate)


@dataclass
class LipSyncResult:
    output: Path
    frames: int
    fps: int
    seconds: float
    template: dict[str, Any]
    audio: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"output": str(self.output), "frames": self.frames, "fps": self.fps, "seconds": round(self.seconds, 3),
                "template": self.template, "audio": self.audio,
                "timings_s": {k: round(v, 3) for k, v in self.timings.items()}}


def _batches(template: Template, total: int, batch: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(template indices, frames) in batches of ``batch`` output frames (the last may be shorter)."""
    idx: list[np.ndarray] = []
    frames: list[np.ndarray] = []
    have = 0
    for i, f in pingpong_blocks(template.clip, total):
        idx.append(i)
        frames.append(f)
        have += len(i)
        while have >= batch:
            all_i, all_f = np.concatenate(idx), np.concatenate(frames)
            yield all_i[:batch], all_f[:batch]
            idx, frames, have = [all_i[batch:]], [all_f[batch:]], have - batch
    if have:
        yield np.concatenate(idx), np.concatenate(frames)


def lip_sync_frames(model: LipSyncModel, template: Template, windows: np.ndarray, batch_size: int = 20,
                    prefetch: int = 2) -> Iterator[np.ndarray]:
    """Yield (k, H, W, 3) uint8 output frames in order, ``len(windows)`` frames in all."""
    from talkingface.media.prefetch import prefetch as ahead

    refs = model.reference_stack(template.references)
    batches = ahead(_batches(template, len(windows), batch_size), prefetch)
    done = 0
    try:
        for indices, frames in batches:
            k = len(indices)
            yield model.lip_sync(frames, template.matrices[indices], refs, windows[done:done + k])
            done += k
    finally:
        batches.close()


def write_lip_sync(model: LipSyncModel, template: Template, feats: AudioWindows, audio: str | os.PathLike,
                   output: str | os.PathLike, batch_size: int = 20,
                   on_frames: Callable[[int], None] | None = None) -> int:
    """Generate ``feats.frames`` frames over a prepared ``template`` and write ``output`` (H.264 25 fps + ``audio``);
    the number of frames written. ``on_frames(done)`` runs after each batch; an exception it raises (a cancelled
    service job) stops the run and nothing is left at ``output``."""
    from talkingface.media import VideoWriter

    with VideoWriter(output, fps=config.FPS, audio=audio) as writer:
        for frames in lip_sync_frames(model, template, feats.windows, batch_size):
            writer.write(frames)
            if on_frames is not None:
                on_frames(writer.frame_count)
    return writer.frame_count


def lip_sync_video(model: LipSyncModel, video: str | os.PathLike, audio: str | os.PathLike,
                   output: str | os.PathLike, extractor: Callable[[str | os.PathLike], Any], backend, *,
                   batch_size: int = 20, start_s: float = 0.0, max_frames: int | None = None,
                   seed: int = config.SEED, cache_dir: str | os.PathLike | None = None,
                   progress: bool = False) -> LipSyncResult:
    """Re-sync the mouth of ``video`` to ``audio``; write ``output`` (H.264 25 fps + the audio). See the module
    docstring. ``backend``: a :mod:`talkingface.landmarks` backend for the template's landmarks."""
    from tqdm import tqdm

    start = time.perf_counter()
    timings: dict[str, float] = {}
    feats = audio_windows_for(audio, extractor, max_frames)
    timings["audio_features"] = time.perf_counter() - start
    if feats.frames < 1:
        raise MediaError(f"{audio}: too short for one video frame at {config.FPS} fps")
    t = time.perf_counter()
    template = prepare_template(video, backend, mouth=model.mouth, start_s=start_s, max_frames=max_frames, seed=seed,
                                cache_dir=cache_dir)
    timings["template"] = time.perf_counter() - t
    try:
        if template.misses and template.cached:         # (a fresh template's landmark pass said so already)
            log.warning("%s: %d of %d template frames have no face; they keep the last good landmarks", video,
                        template.misses, template.frame_count)
        t = time.perf_counter()
        bar = tqdm(total=feats.frames, unit="frame", desc="lip-sync", disable=not progress, leave=False)
        with contextlib.closing(bar):
            written = write_lip_sync(model, template, feats, audio, output, batch_size,
                                     on_frames=lambda done: bar.update(done - bar.n))
        timings["generate"] = time.perf_counter() - t
    finally:
        template.close()
    audio_info = {"path": str(audio), "seconds": round(feats.seconds, 3), "sample_rate": feats.sample_rate,
                  "feature_rows": feats.rows, "frames": feats.frames}
    tpl = template.summary()
    tpl["ping_pong"] = feats.frames > template.frame_count
    return LipSyncResult(Path(output), written, config.FPS, time.perf_counter() - start, tpl, audio_info, timings)
