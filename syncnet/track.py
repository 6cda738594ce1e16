"""Face-track mode: syncnet_python's ``run_pipeline`` (detect, IoU-track, smooth, crop) then the scoring protocol.

What is reproduced (defaults of run_pipeline): frames through a ``-qscale:v 2`` JPEG round trip; S3FD on each frame
at ``facedet_scale`` 0.25 with confidence > 0.9; ``track_shot`` literally (IoU > 0.5 with the track's last box, at
most ``num_failed_det`` 25 frames apart, tracks longer than ``min_track`` 100 frames, linear interpolation of missed
frames, mean face size > ``min_face_size`` 100 px); ``crop_video`` (median filter of size 13 on box size and centre,
padding with value 110 by ``bs·(1+2·crop_scale)``, the crop window, ``cv2.resize`` to 224); the crop written as an
MPEG-4 (XVID) video at OpenCV's default bit rate and scored like run_syncnet (its JPEG round trip included) with the
track's audio (samples ``start·640 … (end+1)·640``).
Not reproduced (docs/lse_protocol.md): PySceneDetect shot splitting (the clip is one shot: our inputs are single-shot
talking heads), and run_pipeline's intermediate ``-qscale:v 2`` AVI re-encode of the input.
"""
from __future__ import annotations

import dataclasses
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from syncnet.protocol import FRAME_SIZE, SAMPLES_PER_FRAME, SyncNetResult, ffmpeg_jpeg_frames, score_streams
from talkingface.errors import MediaError

Detector = Callable[[list], list]   # RGB uint8 images -> one (N, 5) array x1, y1, x2, y2, score per image


@dataclasses.dataclass(frozen=True)
class TrackOptions:
    """run_pipeline's options and defaults."""

    facedet_scale: float = 0.25
    conf_th: float = 0.9
    crop_scale: float = 0.40
    min_track: int = 100
    num_failed_det: int = 25
    min_face_size: int = 100
    frame_rate: int = 25


def bb_intersection_over_union(a, b) -> float:
    xa, ya, xb, yb = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, xb - xa) * max(0, yb - ya)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / float(area_a + area_b - inter)


def track_shot(opts: TrackOptions, scenefaces: list[list[dict]]) -> tuple[list[dict], list[dict]]:
    """run_pipeline's ``track_shot``, statement for statement (including its removal of faces from the list being
    iterated). ``scenefaces[f]`` = [{"frame": f, "bbox": [x1, y1, x2, y2], "conf": s}, …]; it is consumed.
    Returns (tracks {"frame": int array, "bbox": (n,4)}, skipped {"start", "end", "detections", "reason"})."""
    from scipy.interpolate import interp1d

    iou_thres = 0.5
    tracks, skipped = [], []
    while True:
        track: list[dict] = []
        for framefaces in scenefaces:
            for face in framefaces:
                if not track:
                    track.append(face)
                    framefaces.remove(face)
                elif face["frame"] - track[-1]["frame"] <= opts.num_failed_det:
                    if bb_intersection_over_union(face["bbox"], track[-1]["bbox"]) > iou_thres:
                        track.append(face)
                        framefaces.remove(face)
                        continue
                else:
                    break
        if not track:
            break
        first, last = track[0]["frame"], track[-1]["frame"]
        if len(track) > opts.min_track:
            framenum = np.array([f["frame"] for f in track])
            bboxes = np.array([np.array(f["bbox"]) for f in track])
            frame_i = np.arange(framenum[0], framenum[-1] + 1)
            bboxes_i = np.stack([interp1d(framenum, bboxes[:, ij])(frame_i) for ij in range(4)], axis=1)
            size = max(np.mean(bboxes_i[:, 2] - bboxes_i[:, 0]), np.mean(bboxes_i[:, 3] - bboxes_i[:, 1]))
            if size > opts.min_face_size:
                tracks.append({"frame": frame_i, "bbox": bboxes_i})
            else:
                skipped.append({"start": int(first), "end": int(last), "detections": len(track),
                                "reason": f"face size {size:.0f} px <= min_face_size {opts.min_face_size}"})
        else:
            skipped.append({"start": int(first), "end": int(last), "detections": len(track),
                            "reason": f"{len(track)} detections <= min_track {opts.min_track}"})
    return tracks, skipped


def smooth_track(track: dict) -> dict[str, np.ndarray]:
    """crop_video's box size ``s`` (half the longer side) and centre ``x``, ``y``, median-filtered (kernel 13)."""
    from scipy import signal

    dets = {"x": [], "y": [], "s": []}
    for det in track["bbox"]:
        dets["s"].append(max((det[3] - det[1]), (det[2] - det[0])) / 2)
        dets["y"].append((det[1] + det[3]) / 2)
        dets["x"].append((det[0] + det[2]) / 2)
    return {k: signal.medfilt(v, kernel_size=13) for k, v in dets.items()}


def crop_face(image: np.ndarray, bs: float, cy: float, cx: float, crop_scale: float = 0.40) -> np.ndarray:
    """crop_video's crop of one frame: pad by int(bs·(1+2cs)) with 110, cut around the centre, resize to 224."""
    import cv2

    cs = crop_scale
    bsi = int(bs * (1 + 2 * cs))
    frame = np.pad(image, ((bsi, bsi), (bsi, bsi), (0, 0)), "constant", constant_values=(110, 110))
    my, mx = cy + bsi, cx + bsi
    face = frame[int(my - bs):int(my + bs * (1 + 2 * cs)), int(mx - bs * (1 + cs)):int(mx + bs * (1 + cs))]
    return cv2.resize(face, (FRAME_SIZE, FRAME_SIZE))


def detect_video(path: str | Path, detector: Detector, chunk: int = 16) -> list[list[dict]]:
    """Detections of every frame (run_pipeline's ``inference_video`` on its ``-qscale:v 2`` JPEG frames), ``chunk``
    frames per detector call."""
    faces = []
    for batch in ffmpeg_jpeg_frames(path, chunk=chunk, qscale=2):
        for boxes in detector([np.ascontiguousarray(im[..., ::-1]) for im in batch]):   # BGR -> RGB
            fidx = len(faces)
            faces.append([{"frame": fidx, "bbox": b[:-1].tolist(), "conf": float(b[-1])} for b in boxes])
    return faces


class _CropWriter:
    """An MPEG-4 (XVID tag) encoder fed with 224×224 BGR crops, approximating OpenCV's XVID VideoWriter
    (bit rate fps·w·h, GOP 12) as run_pipeline writes its crop files."""

    def __init__(self, path: Path, fps: int):
        from talkingface.media.ffmpeg import ffmpeg_exe

        self.path = path
        self._err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
             "-s", f"{FRAME_SIZE}x{FRAME_SIZE}", "-r", str(fps), "-i", "-", "-c:v", "mpeg4", "-vtag", "XVID",
             "-b:v", str(fps * FRAME_SIZE * FRAME_SIZE), "-g", "12", "-pix_fmt", "yuv420p", "-an", str(path)],
            stdin=subprocess.PIPE, stderr=self._err)

    def write(self, crop: np.ndarray) -> None:
        self.proc.stdin.write(np.ascontiguousarray(crop).tobytes())

    def close(self) -> None:
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            from talkingface.media.ffmpeg import last_error_line

            self._err.seek(0)
            raise MediaError(f"{self.path}: cannot write the face crop ({last_error_line(self._err.read().decode())})")
        self._err.close()


def write_crops(path: str | Path, tracks: list[dict], opts: TrackOptions, folder: Path, chunk: int = 32) -> list[Path]:
    """One pass over the frames writing every track's crop video (``folder/00000.avi`` …); frames are not kept."""
    dets = [smooth_track(t) for t in tracks]
    outs = [folder / f"{i:05d}.avi" for i in range(len(tracks))]
    writers: dict[int, _CropWriter] = {}
    fidx = 0
    try:
        for batch in ffmpeg_jpeg_frames(path, chunk=chunk, qscale=2):
            for image in batch:
                for i, track in enumerate(tracks):
                    k = fidx - int(track["frame"][0])
                    if 0 <= k < len(track["frame"]):
                        if i not in writers:
                            writers[i] = _CropWriter(outs[i], opts.frame_rate)
                        d = dets[i]
                        writers[i].write(crop_face(image, d["s"][k], d["y"][k], d["x"][k], opts.crop_scale))
                        if k == len(track["frame"]) - 1:
                            writers.pop(i).close()
                fidx += 1
    finally:
        for w in writers.values():
            w.proc.kill()
            w.proc.wait()
    return outs


def face_track_scores(path: str | Path, model, detector: Detector, audio: np.ndarray, opts: TrackOptions,
                      device="cpu", batch_size: int = 32, n_frames: int | None = None) -> SyncNetResult:
    """Detect, track and crop ``path`` as run_pipeline does, score every track; the longest scored track's numbers
    are the result's, all tracks (scored and skipped, with the reason) are in ``result.tracks``."""
    def too_short(n: int) -> MediaError:
        return MediaError(f"{path}: {n} frames, shorter than min_track {opts.min_track} frames: no face track "
                          f"(lower min_track for short clips)")

    if n_frames is not None and n_frames < opts.min_track:
        raise too_short(n_frames)
    faces = detect_video(path, detector)
    if len(faces) < opts.min_track:
        raise too_short(len(faces))
    n = len(faces)
    tracks, skipped = track_shot(opts, faces)
    rows = [dict(s, scored=False) for s in skipped]
    results = []
    with tempfile.TemporaryDirectory(prefix="syncnet_crops_") as tmp:
        for track, crop in zip(tracks, write_crops(path, tracks, opts, Path(tmp)), strict=True):
            start, end = int(track["frame"][0]), int(track["frame"][-1])
            clip_audio = audio[start * SAMPLES_PER_FRAME:(end + 1) * SAMPLES_PER_FRAME]
            row = {"start": start, "end": end, "detections": len(track["frame"]), "scored": True, "reason": None}
            try:
                r = score_streams(model, ffmpeg_jpeg_frames(crop), clip_audio, device, batch_size,
                                  what=f"{path} (face track frames {start}-{end})")
            except MediaError as exc:
                row.update(scored=False, reason=str(exc))
            else:
                row.update(lse_d=r.lse_d, lse_c=r.lse_c, offset=r.offset, frames=r.frames)
                results.append(r)
            rows.append(row)
    rows.sort(key=lambda r: r["start"])
    if not results:
        why = "; ".join(f"frames {r['start']}-{r['end']}: {r['reason']}" for r in rows) or "no face detected"
        raise MediaError(f"{path}: no face track could be scored ({why})")
    best = max(results, key=lambda r: r.frames)
    best.tracks = rows
    best.video_frames = n
    if len(results) > 1:
        best.notes.append(f"{len(results)} face tracks scored; the numbers are those of the longest")
    return best
