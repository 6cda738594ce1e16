"""The kit's embedded sample: a small deterministic talking-face set made from material the kit ships.

Material:
- the portrait is scikit-image's ``astronaut()`` photo (Eileen Collins, NASA; public domain), a dependency of the kit;
- the speech is ``talkingface/data/sample_speech.wav`` (16 kHz mono, synthesized once with espeak-ng by
  ``scripts/make_sample_speech.sh`` and committed).

The face is animated with smooth head motion (rotation, translation, scale), one blink, and a mouth that opens with
the loudness of the speech, so lip-sync scorers see a real (if crude) audio-visual correlation. The second identity
of the cross set is the same photo mirrored and tinted: a stand-in labelled as such, not a different person.

Layout written (docs/architecture.md, section 5)::

    OUT/source_self/<name>.png   first (rest) frame of each clip, 256x256
    OUT/gt_self/<name>.mp4       the clip, 25 fps, 256x256, with the speech track
    OUT/source_cross/<name>.png  the stand-in second identity
    OUT/gt_cross/<name>.mp4      a clip of the first identity that drives it
    OUT/sample.json              what was made, with the recipe and sha256 of every file
"""
from __future__ import annotations

import hashlib
import json
import math
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from talkingface.errors import OutputError
from talkingface.fsutil import write_text_atomic
from talkingface.media import VideoWriter
from talkingface.media.images import write_image

FPS = 25
SIZE = 256
SPEECH_WAV = Path(__file__).with_name("data") / "sample_speech.wav"

# Landmarks of the astronaut photo (512x512), measured once with OpenCV's Haar cascades and by eye.
_FACE_CENTRE = (224.0, 113.0)
_EYES = ((202, 101), (248, 103))
_MOUTH = (224, 146)
_CROP = (10, 210, 124, 324)  # y0, y1, x0, x1 of the face crop in the photo


@dataclass(frozen=True)
class Motion:
    """Head motion of one clip: amplitudes and periods (seconds) of smooth sinusoids, plus the blink time."""

    rotate_deg: float = 4.0
    rotate_period: float = 3.0
    shift_px: tuple[float, float] = (6.0, 3.0)
    shift_period: tuple[float, float] = (4.1, 2.7)
    zoom: float = 0.03
    zoom_period: float = 3.7
    phase: float = 0.0
    blink_at: float = 1.3


CLIPS = {"talk": Motion(), "nod": Motion(rotate_deg=2.0, shift_px=(3.0, 6.0), zoom=0.05, phase=1.7, blink_at=2.6)}
CROSS_CLIPS = {"mirror": "talk"}


def _read_speech(path: Path = SPEECH_WAV) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return samples, rate


def mouth_openness(samples: np.ndarray, rate: int, n_frames: int) -> np.ndarray:
    """Per-video-frame loudness in [0, 1]: RMS over each frame's audio, smoothed over 3 frames, max-normalised."""
    hop = rate // FPS
    padded = np.zeros(n_frames * hop, dtype=np.float64)
    usable = min(len(samples), len(padded))
    padded[:usable] = samples[:usable] / 32768.0
    rms = np.sqrt((padded.reshape(n_frames, hop) ** 2).mean(axis=1))
    rms = np.convolve(rms, np.ones(3) / 3.0, mode="same")
    return np.clip(rms / max(rms.max(), 1e-9), 0.0, 1.0)


def _blink_closure(t: float, at: float, length: float = 0.3) -> float:
    """0 (open) → 1 (closed) → 0 over `length` seconds starting at `at` (raised cosine)."""
    u = (t - at) / length
    return 0.5 - 0.5 * math.cos(2 * math.pi * u) if 0.0 <= u <= 1.0 else 0.0


def _paint_ellipse(img: np.ndarray, centre: tuple[int, int], axes: tuple[float, float], colour: np.ndarray) -> None:
    """Blend a feathered filled ellipse of `colour` into img (float32, in place)."""
    if axes[1] < 0.5:
        return
    mask = np.zeros(img.shape[:2], np.float32)
    cv2.ellipse(mask, centre, (int(round(axes[0])), int(round(axes[1]))), 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.5)[..., None]
    img *= 1.0 - mask
    img += mask * colour


def render_frame(photo: np.ndarray, t: float, motion: Motion, openness: float) -> np.ndarray:
    """One 256x256 RGB uint8 frame of the clip at time t (seconds)."""
    img = photo.astype(np.float32)
    closure = _blink_closure(t, motion.blink_at)
    for ex, ey in _EYES:
        skin = img[ey + 12 : ey + 16, ex - 5 : ex + 5].reshape(-1, 3).mean(axis=0)  # cheek below the eye
        _paint_ellipse(img, (ex, ey), (11, 7 * closure), skin)
    _paint_ellipse(img, _MOUTH, (13, 7 * openness), np.array([90.0, 20.0, 20.0], np.float32))

    w = 2 * math.pi * t
    angle = motion.rotate_deg * math.sin(w / motion.rotate_period + motion.phase)
    scale = 1.0 + motion.zoom * math.sin(w / motion.zoom_period + motion.phase)
    matrix = cv2.getRotationMatrix2D(_FACE_CENTRE, angle, scale)
    matrix[0, 2] += motion.shift_px[0] * math.sin(w / motion.shift_period[0] + motion.phase)
    matrix[1, 2] += motion.shift_px[1] * math.sin(w / motion.shift_period[1] + 1.0 + motion.phase)
    moved = cv2.warpAffine(img, matrix, photo.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    y0, y1, x0, x1 = _CROP
    face = cv2.resize(moved[y0:y1, x0:x1], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    return np.clip(np.rint(face), 0, 255).astype(np.uint8)


def second_identity(frame: np.ndarray) -> np.ndarray:
    """The cross-identity stand-in: the face mirrored, with hue rotated and contrast changed."""
    hsv = cv2.cvtColor(frame[:, ::-1], cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(np.int32) + 12) % 180
    rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
    return np.clip((rgb - 128.0) * 0.85 + 128.0 + 10.0, 0, 255).astype(np.uint8)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_clip(path: Path, photo: np.ndarray, motion: Motion, openness: np.ndarray) -> np.ndarray:
    """Render and stream a clip to `path` with the speech track; returns its first frame."""
    first = None
    with VideoWriter(path, fps=FPS, audio=SPEECH_WAV) as writer:
        for i, amount in enumerate(openness):
            frame = render_frame(photo, i / FPS, motion, float(amount))
            first = frame if first is None else first
            writer.write(frame)
    return first


def sample_files() -> list[str]:
    """The files :func:`write_sample` writes, relative to its folder."""
    files = [f for name in CLIPS for f in (f"gt_self/{name}.mp4", f"source_self/{name}.png")]
    files += [f for name in CROSS_CLIPS for f in (f"gt_cross/{name}.mp4", f"source_cross/{name}.png")]
    return files + ["sample.json"]


def check_sample_targets(out_dir: str | Path) -> None:
    """OutputError when a file or folder is in the way of the sample's layout, before anything is written (so a
    failure leaves no half-written sample)."""
    out = Path(out_dir)
    for rel in sample_files():
        target = out / rel
        if target.is_dir():
            raise OutputError(f"{target}: is a folder, where the sample writes a file; choose another folder")
        folder = next(p for p in target.absolute().parents if p.exists())       # the nearest one that exists
        if not folder.is_dir():
            raise OutputError(f"{folder}: is a file, where the sample needs a folder; choose another folder")


def write_sample(out_dir: str | Path) -> dict:
    """Write the embedded sample into `out_dir` (evaluation_set layout); returns the description in sample.json."""
    from skimage.data import astronaut

    out = Path(out_dir)
    check_sample_targets(out)
    photo = astronaut()
    samples, rate = _read_speech()
    n_frames = int(len(samples) * FPS // rate)
    openness = mouth_openness(samples, rate, n_frames)

    files: dict[str, str] = {}
    for name, motion in CLIPS.items():
        video = out / "gt_self" / f"{name}.mp4"
        rest = render_frame(photo, 0.0, motion, 0.0)
        _write_clip(video, photo, motion, openness)
        write_image(out / "source_self" / f"{name}.png", rest)
        files[f"gt_self/{name}.mp4"] = video.name
        files[f"source_self/{name}.png"] = f"{name}.png"
    for name, driving in CROSS_CLIPS.items():
        motion = CLIPS[driving]
        _write_clip(out / "gt_cross" / f"{name}.mp4", photo, motion, openness)
        write_image(out / "source_cross" / f"{name}.png", second_identity(render_frame(photo, 0.0, motion, 0.0)))
        files[f"gt_cross/{name}.mp4"] = f"{name}.mp4"
        files[f"source_cross/{name}.png"] = f"{name}.png"

    description = {
        "about": "talkingface-kit embedded sample (see talkingface/sample.py); synthetic motion of a real photo",
        "portrait": "skimage.data.astronaut() (NASA, public domain)",
        "speech": f"talkingface/data/sample_speech.wav ({rate} Hz, {len(samples) / rate:.2f} s, espeak-ng)",
        "cross_identity": "mirrored, tinted copy of the same photo: a stand-in, not a different person",
        "fps": FPS,
        "size": SIZE,
        "frames": n_frames,
        "clips": {name: asdict(motion) for name, motion in CLIPS.items()},
        "files": {rel: _sha256(out / rel) for rel in sorted(files)},
    }
    write_text_atomic(out / "sample.json", json.dumps(description, indent=2) + "\n")
    return description
