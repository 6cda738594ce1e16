"""Step ``--extract_video_frame``: any video -> 25 fps constant-rate ``%06d.jpg`` frames, re-timing counted."""
from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lawdnet.prep import layout
from talkingface.errors import MediaError
from talkingface.preprocess import Job, WorkResult

FPS = 25
#: the authors' frames are ``cv2.imwrite`` JPEGs at OpenCV's default quality
JPEG_QUALITY = 95
_FPS_STATS = re.compile(r"(\d+) frames in, (\d+) frames out; (\d+) frames dropped, (\d+) frames duplicated")


def _read_exact(pipe, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = pipe.read(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _error_line(log: str) -> str:
    errors = [line for line in log.splitlines() if "[error]" in line or "[fatal]" in line]
    line = (errors or [ln for ln in log.splitlines() if ln.strip()] or ["no message"])[-1]
    return " ".join(line.replace("[error]", "").replace("[fatal]", "").split())[:300]


def extract_frames(video: Path, dst: Path, fps: int = FPS) -> dict:
    """Decode ``video`` re-timed to ``fps`` by ffmpeg's ``fps`` filter (nearest frame, the kit's re-timing rule, as
    ``talkingface.media.to_constant_fps``; rotation applied) and write ``dst/%06d.jpg``. Frames stream through a pipe
    (BMP, bgr24): memory stays flat in video length. Returns the frame statistics."""
    import cv2

    from talkingface.media import probe
    from talkingface.media.ffmpeg import ffmpeg_exe

    info = probe(video)
    if not info.has_video:
        raise MediaError(f"{video}: has no video stream (audio only?); frames are needed")
    dst.mkdir(parents=True, exist_ok=True)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "level+verbose", "-i", str(video),
           "-map", "0:v:0", "-an", "-vf", f"fps={fps}", "-fps_mode", "cfr", "-f", "image2pipe", "-c:v", "bmp",
           "-pix_fmt", "bgr24", "-"]
    count, size = 0, None
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        try:
            while True:
                head = _read_exact(proc.stdout, 6)
                if len(head) < 6:
                    break
                if head[:2] != b"BM":
                    raise MediaError(f"{video}: unexpected data from ffmpeg's frame pipe")
                body = _read_exact(proc.stdout, int.from_bytes(head[2:6], "little") - 6)
                frame = cv2.imdecode(np.frombuffer(head + body, np.uint8), cv2.IMREAD_COLOR)
                if frame is None:
                    raise MediaError(f"{video}: frame {count} could not be decoded")
                size = frame.shape[1], frame.shape[0]
                if not cv2.imwrite(str(dst / layout.frame_name(count)), frame,
                                   [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
                    raise OSError(f"{dst / layout.frame_name(count)}: cannot write JPEG")
                count += 1
        finally:
            proc.stdout.close()
            code = proc.wait()
        err.seek(0)
        log = err.read().decode("utf-8", "replace")
    if code != 0:
        raise MediaError(f"{video}: cannot decode video: ffmpeg failed ({_error_line(log)})")
    if count == 0:
        raise MediaError(f"{video}: no video frames could be decoded")
    found = _FPS_STATS.findall(log)
    frames_in, frames_out, dropped, duplicated = (int(v) for v in found[-1]) if found else (None, count, None, None)
    return {"frames": count, "fps_in": round(info.fps, 3), "fps_out": fps, "frames_in": frames_in,
            "dropped_by_retiming": dropped, "duplicated_by_retiming": duplicated, "width": size[0],
            "height": size[1], "video_seconds": round(info.duration, 3)}


@dataclass(frozen=True)
class FramesWork:
    """The frames step of one video (picklable; runs in a worker)."""

    fps: int = FPS

    def __call__(self, job: Job, scratch: Path) -> WorkResult:
        video = job.id.split("/", 1)[1]
        stats = extract_frames(job.path, scratch / "frames", self.fps)
        return WorkResult({f"{layout.FRAMES}/{video}": scratch / "frames"}, stats)
