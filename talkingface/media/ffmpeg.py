"""The pinned ffmpeg binary (imageio-ffmpeg's): where it is, its version, and running it with one-line errors.

Every subprocess call goes through :func:`run_ffmpeg`, which turns a failure into a one-line
:class:`~talkingface.errors.MediaError` carrying ffmpeg's own last error line.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from talkingface.errors import MediaError


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary the kit uses: imageio-ffmpeg's bundled static build (``IMAGEIO_FFMPEG_EXE`` overrides).

    LSE-D/LSE-C depend on the ffmpeg version (colour-range conversion before syncnet_python's JPEG step), so the
    kit pins this binary instead of whatever ``ffmpeg`` is on PATH; see docs/lse_protocol.md.
    """
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise MediaError("imageio-ffmpeg is not installed; install the kit with its dependencies") from exc
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise MediaError(f"no ffmpeg binary found ({exc})") from None


def ffmpeg_version() -> str:
    """Version string of the pinned ffmpeg binary, e.g. ``'n9.0.2-17-g2a571b6068-20260930'`` (for reports)."""
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True, check=False).stdout
    match = re.match(r"ffmpeg version (\S+)", out)
    return match.group(1) if match else out.splitlines()[0] if out else "unknown"


def media_versions() -> dict[str, str]:
    """Versions of everything that touches pixels or samples: the ffmpeg binary (encoding, resampling, re-timing)
    and PyAV with its bundled FFmpeg libraries (decoding). Put this in reports next to LSE numbers."""
    import av

    libs = getattr(av, "library_versions", {}) or {}
    return {
        "ffmpeg": ffmpeg_version(),
        "ffmpeg_exe": ffmpeg_exe(),
        "pyav": av.__version__,
        "pyav_libavcodec": ".".join(map(str, libs.get("libavcodec", ()))),
        "pyav_libswscale": ".".join(map(str, libs.get("libswscale", ()))),
    }


def rate_str(fps: float | Fraction) -> str:
    """A frame rate as ffmpeg wants it: ``25``, ``30000/1001`` or ``12.5``."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float, Fraction)) or not fps > 0:
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    frac = Fraction(fps).limit_denominator(1001)
    if abs(float(frac) - float(fps)) > 1e-6:
        frac = Fraction(fps).limit_denominator(1_000_000)
    return str(frac.numerator) if frac.denominator == 1 else f"{frac.numerator}/{frac.denominator}"


def last_error_line(text: str) -> str:
    """ffmpeg's most informative line: the last non-empty one, whitespace collapsed, at most 300 characters."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else "no message")[:300]


def run_ffmpeg(args: Sequence[str], what: str, *, stdout: int | None = None) -> bytes:
    """Run ``ffmpeg -hide_banner -nostdin -v error <args>``; on failure raise MediaError(``what``: ffmpeg's error).

    ``stdout=subprocess.PIPE`` returns the captured output (used for raw PCM); otherwise output is discarded.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *map(str, args)]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.run(cmd, stdout=stdout if stdout is not None else subprocess.DEVNULL, stderr=err,
                              check=False)
        if proc.returncode != 0:
            err.seek(0)
            raise MediaError(f"{what}: ffmpeg failed ({last_error_line(err.read().decode('utf-8', 'replace'))})")
    return proc.stdout or b""


def container_args(path: Path) -> list[str]:
    """Muxer flags for an output name: mp4/mov get ``+faststart`` (index first, streamable, truncation detectable)."""
    return ["-movflags", "+faststart"] if path.suffix.lower() in {".mp4", ".mov", ".m4v"} else []


#: environment variable holding the thread budget of one process (set by talkingface.preprocess for its workers);
#: unset: decoders and encoders choose (all cores)
THREADS_ENV = "TALKINGFACE_THREADS"


def thread_budget() -> int | None:
    """The process's thread budget from ``$TALKINGFACE_THREADS`` (a positive integer), or None."""
    value = os.environ.get(THREADS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def h264_args(path: Path) -> list[str]:
    """Extra libx264 flags for a container. AVI stores no presentation timestamps, so the 2-frame delay of B-frames
    shows as video starting 80 ms late (at 25 fps) and repeated frames in ffmpeg's output: ``-bf 0`` there. Under a
    thread budget (:func:`thread_budget`) the encoder uses that many threads."""
    budget = thread_budget()
    return (["-bf", "0"] if Path(path).suffix.lower() == ".avi" else []) + (
        ["-threads", str(budget)] if budget else [])


def audio_codec(path: Path) -> str:
    """The audio codec written into a container: AAC (its 1024-sample encoder priming is cut by the mp4/mov edit
    list and Matroska's codec delay), PCM in AVI, which cannot signal the priming (AAC there plays 1024 samples late:
    64 ms at 16 kHz, 23 ms at 44.1 kHz)."""
    return "pcm_s16le" if Path(path).suffix.lower() == ".avi" else "aac"
