"""Per-template work, done once and cached on disk keyed by the video's content: clip, landmarks, transforms, refs.

A lip-sync run on a template video needs, before any audio is seen: the template re-timed to 25 fps
(:mod:`lawdnet.template_clip`), 68 landmarks per frame (frames without a face keep the last good ones), the
similarity transform of every frame to the aligned face crop (:mod:`lawdnet.face_align`), and the five aligned
reference crops. All of it depends only on the template video, the part of it used (start, frame limit), the mouth
size, the landmark backend and the seed — that is the cache key — so a second run with new audio (a service, a
batch of audios) skips it. The aligned, masked model inputs are *not* stored: they are one ``grid_sample`` of a
frame that is decoded anyway for the paste-back (a few ms per frame; storing them would take 0.5 MB per frame at
mouth 288). A cache folder appears only complete (built under a temporary name, then renamed); a corrupt or
partial entry is rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from lawdnet import config
from lawdnet.face_align import align_matrices, warp_faces
from lawdnet.landmark_track import fill_misses, track_landmarks
from lawdnet.template_clip import make_clip, read_block
from talkingface.errors import KitError, MediaError
from talkingface.fsutil import fingerprint
from talkingface.media import MediaInfo, probe

log = logging.getLogger(__name__)

#: bump when what a cache entry holds or how it is computed changes
CACHE_VERSION = 1
NUM_REFERENCES = 5
_FILES = ("clip.mp4", "landmarks.npy", "matrices.npy", "references.npy", "meta.json")


def default_cache_dir() -> Path:
    """``$TALKINGFACE_CACHE/lawdnet-templates`` (default ``~/.cache/talkingface-kit/lawdnet-templates``)."""
    root = os.environ.get("TALKINGFACE_CACHE") or Path.home() / ".cache" / "talkingface-kit"
    return Path(root) / "lawdnet-templates"


@dataclass
class Template:
    """A prepared template: its 25 fps ``clip`` and, per clip frame, ``landmarks`` (L, 68, 2) and alignment
    ``matrices`` (L, 3, 3) (frame pixels -> aligned crop pixels); ``references`` (5, 3, h, w) float32 in [0, 1] and
    the clip frames they came from; ``misses``: frames without a face."""

    clip: MediaInfo
    landmarks: np.ndarray
    matrices: np.ndarray
    references: np.ndarray
    reference_indices: list[int]
    misses: int
    key: str
    cached: bool                       # True when read from the cache (nothing computed)
    folder: Path
    _scratch: Path | None = field(default=None, repr=False)

    @property
    def frame_count(self) -> int:
        return int(self.landmarks.shape[0])

    def close(self) -> None:
        """Remove the working folder of an uncached template (a cached one stays)."""
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def summary(self) -> dict:
        return {"key": self.key, "frames": self.frame_count, "size": list(self.clip.size),
                "frames_without_face": self.misses, "reference_frames": self.reference_indices,
                "from_cache": self.cached}


def template_key(info: MediaInfo, *, mouth: int, backend_id: str, start_s: float, max_frames: int | None,
                 seed: int) -> str:
    """The cache key: the video's content (size + first/last 64 KB) and every setting the entry depends on."""
    size = Path(info.path).stat().st_size
    parts = {"version": CACHE_VERSION, "video": [size, fingerprint(info.path, size)], "mouth": mouth,
             "ratio": config.ALIGN_RATIO, "landmarks": backend_id, "start_s": round(float(start_s), 6),
             "max_frames": max_frames, "seed": seed, "fps": config.FPS}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def backend_identity(backend) -> str:
    """What about a landmark backend decides its landmarks: its name, and the CSV it reads for openface-csv."""
    csv = getattr(backend, "video_csv", None)
    if csv is None:
        return backend.name
    st = Path(csv).stat()
    return f"{backend.name}:{fingerprint(csv, st.st_size)}"


def _load(folder: Path, key: str) -> Template | None:
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("key") != key or meta.get("version") != CACHE_VERSION:
            return None
        clip = probe(folder / "clip.mp4")
        landmarks = np.load(folder / "landmarks.npy")
        matrices = np.load(folder / "matrices.npy")
        references = np.load(folder / "references.npy")
    except (OSError, ValueError, KitError, json.JSONDecodeError):
        return None
    if not (landmarks.shape[0] == matrices.shape[0] == clip.frame_count == meta.get("frames")):
        return None
    return Template(clip, landmarks, matrices, references, list(meta["reference_indices"]), int(meta["misses"]),
                    key, True, folder)


def _landmarks(clip: MediaInfo, backend, info: MediaInfo, start_s: float) -> tuple[np.ndarray, int]:
    """Landmarks of every clip frame. Frame-indexed backends (OpenFace CSV) number the original video's frames, so
    the template must already be 25 fps; the CSV rows from the start frame on are used."""
    from talkingface.media import VideoReader

    frames = iter(VideoReader(clip))
    if getattr(backend, "frame_indexed", False):
        if abs(info.fps - config.FPS) > 0.01:
            raise MediaError(f"{info.path}: landmarks from a CSV number the video's own frames, so the video must be "
                             f"{config.FPS} fps (it is {info.fps:.3f}); re-time it first (python -m talkingface "
                             "normalize) and run OpenFace on that")
        skip = round(start_s * config.FPS)

        def numbered():
            for _ in range(skip):
                yield None
            yield from frames

        results = backend.detect_video(numbered())
        for _ in range(skip):
            next(results)
        return tuple(fill_misses(list(results), str(info.path)))
    return tuple(track_landmarks(frames, backend, info.path))


def _build(info: MediaInfo, folder: Path, key: str, *, mouth: int, backend, start_s: float,
           max_frames: int | None, seed: int) -> Template:
    clip = make_clip(info, folder / "clip.mp4", config.FPS, start_s, max_frames)
    landmarks, misses = _landmarks(clip, backend, info, start_s)
    if landmarks.shape[0] != clip.frame_count:
        raise MediaError(f"{info.path}: {landmarks.shape[0]} landmark rows for {clip.frame_count} frames")
    out_w = config.align_width(mouth)
    matrices = align_matrices(torch.from_numpy(landmarks).float(), out_w, config.ALIGN_RATIO).numpy()
    generator = torch.Generator().manual_seed(seed)
    indices = torch.randint(0, clip.frame_count, (NUM_REFERENCES,), generator=generator).tolist()
    frames = np.stack([read_block(clip, i, 1)[0] for i in indices])
    refs = warp_faces(torch.from_numpy(frames).permute(0, 3, 1, 2).float(), torch.from_numpy(matrices[indices]), out_w)
    references = (refs / 255.0).numpy().astype(np.float32)
    np.save(folder / "landmarks.npy", landmarks.astype(np.float32))
    np.save(folder / "matrices.npy", matrices.astype(np.float32))
    np.save(folder / "references.npy", references)
    meta = {"version": CACHE_VERSION, "key": key, "video": str(info.path), "frames": clip.frame_count,
            "misses": misses, "reference_indices": indices, "mouth": mouth, "start_s": start_s,
            "max_frames": max_frames, "seed": seed}
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))
    return Template(clip, landmarks.astype(np.float32), matrices.astype(np.float32), references, indices, misses,
                    key, False, folder)


def prepare_template(video: str | os.PathLike | MediaInfo, backend, *, mouth: int = 288, start_s: float = 0.0,
                     max_frames: int | None = None, seed: int = config.SEED,
                     cache_dir: str | os.PathLike | None = None) -> Template:
    """The prepared template of ``video`` (see the module docstring): read from ``cache_dir`` when an entry with the
    same key is there, else computed (and stored there). ``cache_dir=None``: computed in a temporary folder that
    :meth:`Template.close` removes."""
    info = video if isinstance(video, MediaInfo) else probe(video)
    if not info.has_video:
        raise MediaError(f"{info.path}: has no video stream (a template video with a face is needed)")
    if max_frames is not None and max_frames < 1:
        raise KitError(f"max_frames must be >= 1, got {max_frames}")
    key = template_key(info, mouth=mouth, backend_id=backend_identity(backend), start_s=start_s,
                       max_frames=max_frames, seed=seed)
    if cache_dir is None:
        scratch = Path(tempfile.mkdtemp(prefix="lawdnet-template-"))
        try:
            template = _build(info, scratch, key, mouth=mouth, backend=backend, start_s=start_s,
                              max_frames=max_frames, seed=seed)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        template._scratch = scratch
        return template
    root = Path(cache_dir)
    final = root / key
    found = _load(final, key) if final.is_dir() else None
    if found is not None:
        log.info("template %s: from the cache (%s)", info.path, final)
        return found
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}.partial-", dir=root))
    try:
        _build(info, work, key, mouth=mouth, backend=backend, start_s=start_s, max_frames=max_frames, seed=seed)
        if final.exists():                      # a stale or broken entry (or a concurrent run's): replace it
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(work, final)
        except OSError:                         # another run put it there first: use theirs
            pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    loaded = _load(final, key)
    if loaded is None:
        raise KitError(f"{final}: the template cache entry could not be read back; remove it and retry")
    loaded.cached = False
    return loaded
