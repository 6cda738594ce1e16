"""syncnet_python's scoring protocol (``SyncNetInstance.evaluate``), computed fast and in bounded memory.

The protocol (docs/lse_protocol.md has it in prose):

* frames: ``ffmpeg -i VIDEO -threads 1 -f image2 %06d.jpg`` then ``cv2.imread`` (BGR 0–255) — the JPEG round trip at
  ffmpeg's default mjpeg settings (rate-controlled, so not reproducible by an in-process encoder at a fixed quality:
  we run the same pinned ffmpeg and read its JPEGs from a pipe; the bytes are identical to the image2 files).
  ``whole-frame`` mode resizes each frame to 224×224 with ``cv2.resize`` (Wav2Lip's LRS script);
* audio: ``ffmpeg -i VIDEO -async 1 -ac 1 -vn -acodec pcm_s16le -ar 16000``; MFCC by python_speech_features with its
  defaults (13 coefficients, 25 ms / 10 ms), transposed to (13, T);
* ``lastframe = min(n_frames, floor(n_samples / 640)) - 5``; window ``v`` (0 ≤ v < lastframe) is frames v..v+4 and
  MFCC columns 4v..4v+19;
* the audio embeddings are zero-padded by vshift=15 rows at both ends; distance d[v, j] = ‖lip[v] − aud_pad[v+j] + 1e-6‖
  for j = 0..30 (offset 15 − j); mean over v per j; LSE-D = min, LSE-C = median − min, offset = 15 − argmin.

Speed and memory: both streams run once in batches (the lip stream as 2-D convolutions over an overlapping strided
view of the frames, see :meth:`SyncNet.lip_embed_frames`), frames are decoded in chunks and dropped after embedding,
and the offset search is streamed (:mod:`syncnet.offsets`): no per-frame array of the clip is held whole but the audio.
"""
from __future__ import annotations

import dataclasses
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from syncnet.offsets import StreamingOffsets, offset_distances  # noqa: F401 (offset_distances: the whole-array form)
from talkingface.errors import MediaError
from talkingface.heap import release_free_heap

VSHIFT = 15
WINDOW = 5                # frames per lip window
SAMPLE_RATE = 16000
SAMPLES_PER_FRAME = 640   # 16000 / 25
MFCC_PER_FRAME = 4
MFCC_WINDOW = 20
FRAME_SIZE = 224
MIN_FRAMES = WINDOW + 1   # lastframe = min_length - 5 must be >= 1


@dataclasses.dataclass
class SyncNetResult:
    """LSE of one video (or one face track). ``distances[j]`` is the mean distance at offset ``offsets[j] = 15 − j``
    (syncnet_python's ``mdist`` order: index 0 is offset +15, index 30 is offset −15)."""

    lse_d: float
    lse_c: float
    offset: int
    distances: np.ndarray
    frames: int                        # 5-frame windows scored (syncnet_python's lastframe)
    video_frames: int = 0              # frames decoded
    audio_frames: int = 0              # floor(audio samples / 640)
    mode: str = "whole-frame"
    reference: bool = True             # False when a stand-in detector replaced S3FD
    notes: list[str] = dataclasses.field(default_factory=list)
    tracks: list[dict] = dataclasses.field(default_factory=list)   # face-track mode: every track, scored or skipped
    ffmpeg: str = ""

    @property
    def offsets(self) -> np.ndarray:
        return VSHIFT - np.arange(len(self.distances))

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["distances"] = [float(x) for x in self.distances]
        return out


# --- inputs -------------------------------------------------------------------------------------------------------
def read_audio_16k(path: str | Path) -> np.ndarray:
    """The audio exactly as syncnet_python extracts it (``-async 1 -ac 1 -vn -acodec pcm_s16le -ar 16000``): int16."""
    from talkingface.media.ffmpeg import run_ffmpeg

    raw = run_ffmpeg(["-y", "-i", str(path), "-async", "1", "-ac", "1", "-vn", "-acodec", "pcm_s16le",
                      "-ar", str(SAMPLE_RATE), "-f", "s16le", "-"], f"{path}: cannot extract the audio",
                     stdout=subprocess.PIPE)
    return np.frombuffer(raw, dtype="<i2").astype(np.int16)


_ENTROPY_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")


def split_jpegs(buf: bytes | bytearray, what: str = "mjpeg stream") -> tuple[list[bytes], int]:
    """Split a concatenation of JPEG files (ffmpeg's image2pipe) into complete files.

    Walks the marker segments (lengths) and the entropy-coded data (up to the first marker that is not a stuffed
    byte or a restart marker), so bytes inside tables never end a file. Returns (complete files, bytes consumed).
    """
    out: list[bytes] = []
    pos, n = 0, len(buf)
    while True:
        start = buf.find(b"\xff\xd8", pos)
        if start < 0:
            return out, pos if n - pos < 2 else n - 1
        p, end = start + 2, -1
        while p + 4 <= n:
            if buf[p] != 0xFF:
                raise MediaError(f"{what}: corrupt JPEG data at byte {p}")
            marker = buf[p + 1]
            if marker == 0xFF:
                p += 1
            elif marker == 0xD9:
                end = p + 2
                break
            elif 0xD0 <= marker <= 0xD7 or marker == 0x01:
                p += 2
            else:
                p += 2 + int.from_bytes(buf[p + 2:p + 4], "big")
                if marker == 0xDA:
                    found = _ENTROPY_END.search(buf, p)
                    if found is None:
                        break
                    p = found.start()
        if end < 0 and p + 2 <= n and buf[p] == 0xFF and buf[p + 1] == 0xD9:
            end = p + 2
        if end < 0:
            return out, start
        out.append(bytes(buf[start:end]))
        pos = end


def ffmpeg_jpeg_frames(path: str | Path, chunk: int = 64, qscale: int | None = None,
                       size: int | None = None) -> Iterator[np.ndarray]:
    """Yield (k,H,W,3) uint8 BGR frames of ``path`` after syncnet_python's JPEG round trip, k ≤ ``chunk``.

    Runs ``ffmpeg -i path -threads 1 [-qscale:v Q] -f image2pipe -c:v mjpeg -`` (same bytes as its ``-f image2``
    files) and decodes each JPEG with ``cv2.imdecode`` (= ``cv2.imread``). ``size``: ``cv2.resize`` to size×size.
    """
    import cv2

    from talkingface.media.ffmpeg import ffmpeg_exe, last_error_line

    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", str(path), "-threads", "1"]
    if qscale is not None:
        cmd += ["-qscale:v", str(qscale)]
    cmd += ["-f", "image2pipe", "-c:v", "mjpeg", "-"]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        try:
            buf, batch = bytearray(), []
            while True:
                block = proc.stdout.read(1 << 20)
                if block:
                    buf += block
                files, used = split_jpegs(buf, f"{path}: ffmpeg's JPEG frames")
                del buf[:used]
                for data in files:
                    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                    if img is None:
                        raise MediaError(f"{path}: ffmpeg produced an undecodable JPEG frame")
                    if size is not None:
                        img = cv2.resize(img, (size, size))
                    batch.append(img)
                    if len(batch) == chunk:
                        yield np.stack(batch)
                        batch = []
                if not block:
                    break
            if batch:
                yield np.stack(batch)
            if proc.wait() != 0:
                err.seek(0)
                raise MediaError(f"{path}: cannot extract frames: ffmpeg failed "
                                 f"({last_error_line(err.read().decode('utf-8', 'replace'))})")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.wait()


def mfcc_features(audio: np.ndarray, chunk_frames: int = 2048) -> np.ndarray:
    """python_speech_features.mfcc(audio, 16000) transposed to (13, T) float32, as syncnet_python builds ``cct``.

    Long signals are processed in chunks of MFCC frames (``mfcc(preemph=0)`` on each aligned slice of the
    pre-emphasised signal, made per slice): the same numbers as one call with far less memory.
    """
    from python_speech_features import mfcc, sigproc

    audio = np.asarray(audio)
    win, hop = 400, 160
    n = len(audio)
    total = 1 if n <= win else 1 + int(np.ceil((n - win) / hop))
    if total <= 2 * chunk_frames:
        return np.ascontiguousarray(mfcc(audio, SAMPLE_RATE).T.astype(np.float32))
    parts = []
    for f0 in range(0, total, chunk_frames):
        f1 = total if total - f0 < 2 * chunk_frames else f0 + chunk_frames
        a, b = f0 * hop, (n if f1 == total else (f1 - 1) * hop + win)
        # = sigproc.preemphasis(audio, 0.97)[a:b], element by element
        seg = sigproc.preemphasis(audio[:b], 0.97) if a == 0 else audio[a:b] - 0.97 * audio[a - 1:b - 1]
        parts.append(mfcc(seg, SAMPLE_RATE, preemph=0).astype(np.float32))
        if f1 == total:
            break
    return np.ascontiguousarray(np.concatenate(parts).T)


# --- embeddings ---------------------------------------------------------------------------------------------------
def iter_lip_embeddings(model, frame_chunks: Iterable[np.ndarray], max_windows: int, device="cpu",
                        batch_size: int = 32) -> Iterator[tuple[list[torch.Tensor], int]]:
    """Per frame chunk: (lip embedding batches of the windows it completes, frames read so far), as in
    :func:`lip_embeddings` (same batches, same stopping rule); the chunk's frames are dropped before it is yielded."""
    carry, seen, done = None, 0, 0
    need = max_windows + WINDOW
    with torch.inference_mode():
        for chunk in frame_chunks:
            if seen >= need:
                break
            chunk = chunk[: need - seen]
            seen += len(chunk)
            x = torch.from_numpy(np.ascontiguousarray(chunk)).to(device).permute(0, 3, 1, 2).float()
            x = x if carry is None else torch.cat([carry, x])
            n_win = max(0, min(len(x) - WINDOW + 1, max_windows - done))
            feats = []
            for s in range(0, n_win, batch_size):
                e = min(s + batch_size, n_win)
                feats.append(model.lip_embed_frames(x[s:e + WINDOW - 1]).float().cpu())
            done += n_win
            carry = x[n_win:]
            del x, chunk
            release_free_heap()       # freed activations would otherwise fragment glibc's arenas: RSS grows with length
            yield feats, seen


def lip_embeddings(model, frame_chunks: Iterable[np.ndarray], max_windows: int, device="cpu",
                   batch_size: int = 32) -> tuple[torch.Tensor, int]:
    """Lip embeddings of the first ``max_windows`` 5-frame windows of a stream of (k,224,224,3) BGR uint8 chunks.

    Returns ((n, 1024) float32 CPU tensor, frames read). Reading stops after ``max_windows + 5`` frames (one past
    the last window, so that ``min(frames read, …)`` is syncnet_python's ``min(len(images), …)``).
    """
    feats, seen = [], 0
    for batches, seen in iter_lip_embeddings(model, frame_chunks, max_windows, device, batch_size):  # noqa: B007
        feats += batches
    out = torch.cat(feats) if feats else torch.zeros(0, 1024)
    return out, seen


def audio_embeddings(model, cct: np.ndarray, n_windows: int, device="cpu", batch_size: int = 256,
                     start: int = 0) -> torch.Tensor:
    """Audio embeddings of MFCC windows 4v..4v+19 for start ≤ v < n_windows (a strided view, in batches of
    ``batch_size`` from ``start``): (n − start, 1024) CPU."""
    mf = torch.from_numpy(cct)
    windows = mf.unfold(1, MFCC_WINDOW, MFCC_PER_FRAME).permute(1, 0, 2)[start:n_windows]   # (n, 13, 20) view
    out = []
    with torch.inference_mode():
        for s in range(0, len(windows), batch_size):
            x = windows[s:s + batch_size].unsqueeze(1).contiguous().to(device)
            out.append(model.forward_aud(x).float().cpu())
            if len(out) % 16 == 0:
                release_free_heap()
    return torch.cat(out) if out else torch.zeros(0, 1024)


def lse_from_distances(mdist: np.ndarray, vshift: int = VSHIFT) -> tuple[float, float, int]:
    """(LSE-D, LSE-C, offset) = (min, median − min, vshift − argmin) of the per-offset mean distances."""
    mdist = np.asarray(mdist, dtype=np.float32)   # syncnet_python's statistics are float32 tensors
    idx = int(np.argmin(mdist))
    return float(mdist[idx]), float(np.median(mdist) - mdist[idx]), vshift - idx


def score_streams(model, frame_chunks: Iterable[np.ndarray], audio: np.ndarray, device="cpu",
                  batch_size: int = 32, what: str = "video") -> SyncNetResult:
    """The protocol on a stream of 224×224 BGR frame chunks and 16 kHz int16 audio samples."""
    audio_frames = len(audio) // SAMPLES_PER_FRAME
    if audio_frames < MIN_FRAMES:
        raise MediaError(f"{what}: audio too short to score ({len(audio) / SAMPLE_RATE:.2f} s; LSE needs at least "
                         f"{MIN_FRAMES} frames = {MIN_FRAMES / 25:.2f} s of audio and video)")
    # MFCC of the audio up to the longest clip the video can make (13 floats per 10 ms): its columns for the windows
    # scored equal those of syncnet_python's cut at (lastframe + 5) · 640 + 400 (MFCC frames are independent)
    cct = mfcc_features(audio[: audio_frames * SAMPLES_PER_FRAME + 400])
    audio_batch = max(batch_size, 64)
    search = StreamingOffsets(lambda s, e: audio_embeddings(model, cct, e, device, audio_batch, start=s), VSHIFT,
                              audio_batch=audio_batch)
    seen = 0
    for batches, read in iter_lip_embeddings(model, frame_chunks, audio_frames - WINDOW, device, batch_size):
        seen = read
        for rows in batches:
            search.add(rows)
    if seen < MIN_FRAMES:
        raise MediaError(f"{what}: {seen} video frames; LSE needs at least {MIN_FRAMES}")
    lastframe = min(seen, audio_frames) - WINDOW
    mdist = search.finish(lastframe)
    lse_d, lse_c, offset = lse_from_distances(mdist)
    return SyncNetResult(lse_d=lse_d, lse_c=lse_c, offset=offset, distances=mdist, frames=lastframe,
                         video_frames=seen, audio_frames=audio_frames)
