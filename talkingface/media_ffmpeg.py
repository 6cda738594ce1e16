"""The pinned ffmpeg binary (imageio-ffmpeg's) and the small helpers that run it and check input files.

Every subprocess call goes through :func:`run_ffmpeg`, which turns a failure into a one-line
:class:`~talkingface.errors.MediaError` carrying ffmpeg's own last error line. Input files are checked first by
:func:`check_input` so that the common mistakes (missing file, directory, empty file) get a plain message.
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
from talkingface.fsutil import temp_sibling


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary the kit uses: imageio-ffmpeg's bundled static build (``IMAGEIO_FFMPEG_EXE`` overrides).

    LSE-D/LSE-C depend on the ffmpeg version (colour-range conversion before syncnet_python's JPEG step), so the
    kit pins this binary instead of whatever ``ffmpeg`` is on PATH; see the module docstring of talkingface.media.
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


def check_input(path: str | os.PathLike[str], kind: str = "media") -> Path:
    """The path as a Path if it is a non-empty regular file, else MediaError with a one-line reason."""
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{p}: no such file")
    if p.is_dir():
        article = "an" if kind[:1] in "aeiou" else "a"
        raise MediaError(f"{p}: is a directory, not {article} {kind} file")
    if not p.is_file():
        raise MediaError(f"{p}: not a regular file")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise MediaError(f"{p}: cannot be read ({exc.strerror})") from None
    if size == 0:
        raise MediaError(f"{p}: empty file (0 bytes)")
    if not os.access(p, os.R_OK):
        raise MediaError(f"{p}: permission denied")
    return p


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


def temp_name(final: Path) -> Path:
    """A unique hidden name next to ``final`` with the same suffix (so ffmpeg infers the same format)."""
    return temp_sibling(final)


def remove_quietly(path: Path | None) -> None:
    if path is not None:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def prepare_output(dst: str | os.PathLike[str], src: Path | None = None) -> Path:
    """Check an output path (parent folder created; not a directory; not the input) and return it as a Path."""
    out = Path(dst)
    if out.is_dir():
        raise MediaError(f"{out}: is a directory; give an output file name")
    if src is not None and out.exists() and out.resolve() == src.resolve():
        raise MediaError(f"{out}: output would overwrite the input")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaError(f"{out}: cannot create its folder ({exc.strerror})") from None
    return out


def container_args(path: Path) -> list[str]:
    """Muxer flags for an output name: mp4/mov get ``+faststart`` (index first, streamable, truncation detectable)."""
    return ["-movflags", "+faststart"] if path.suffix.lower() in {".mp4", ".mov", ".m4v"} else []
