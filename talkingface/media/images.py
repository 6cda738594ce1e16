"""Still images: read any common image as (H, W, 3) uint8 RGB, write atomically, tell images from videos by name.

Conversions done by :func:`read_image` (documented because metrics depend on them):

* grayscale (L, 1-bit, 16-bit) -> the gray value copied to R, G and B;
* **alpha is dropped, not composited**: RGBA / LA / palette-with-transparency keep their colour channels as
  stored, whatever the alpha (the DaGAN demo does the same with ``image[..., :3]``);
* **16-bit** PNG (gray, gray+alpha, RGB, RGBA) -> 8 bit by ``round(v / 257)``, which maps 0..65535 onto 0..255
  exactly (Pillow alone would truncate 16-bit colour to the high byte, so those are decoded through PyAV);
  other 16/32-bit integer images (mode ``I;16``/``I``) are scaled the same way;
* palette (P), CMYK, YCbCr ... -> Pillow's RGB conversion;
* EXIF orientation is ignored (pixels as stored).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from talkingface.errors import MediaError
from talkingface.fsutil import atomic_path, check_input, prepare_output
from talkingface.media.frames import to_uint8

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")

__all__ = ["IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "is_image", "is_video", "read_image", "write_image"]


def is_image(path: str | os.PathLike[str]) -> bool:
    """True when the name ends with one of IMAGE_EXTENSIONS (case-insensitive); the file is not opened."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def is_video(path: str | os.PathLike[str]) -> bool:
    """True when the name ends with one of VIDEO_EXTENSIONS (case-insensitive); the file is not opened."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def _to8(values: np.ndarray) -> np.ndarray:
    """0..65535 integers -> 0..255 uint8 by round(v / 257) (no ties occur for integers)."""
    values = np.clip(values.astype(np.int64), 0, 65535)
    return ((values + 128) // 257).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def _png_bit_depth(path: Path) -> int:
    with open(path, "rb") as f:
        head = f.read(26)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return head[24]
    return 0


def _read_png16(path: Path) -> np.ndarray:
    """16-bit PNG through PyAV's PNG decoder: the packed big-endian samples, scaled to 8 bit."""
    import av

    channels = {"gray16be": 1, "ya16be": 2, "rgb48be": 3, "rgba64be": 4}
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
    except (av.FFmpegError, StopIteration) as exc:
        raise MediaError(f"{path}: corrupt 16-bit PNG ({exc})") from None
    fmt = frame.format.name
    if fmt not in channels:
        raise MediaError(f"{path}: unexpected 16-bit PNG pixel format {fmt}")
    c, plane = channels[fmt], frame.planes[0]
    rows = np.frombuffer(bytes(plane), dtype=">u2").reshape(frame.height, plane.line_size // 2)
    samples = rows[:, : frame.width * c].reshape(frame.height, frame.width, c)
    eight = _to8(samples)
    return _gray_to_rgb(eight[..., 0]) if c <= 2 else np.ascontiguousarray(eight[..., :3])


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as an (H, W, 3) uint8 RGB array (see the module docstring for the conversions).

    Raises MediaError naming the file when it is missing, a directory, empty, not an image, or truncated.
    """
    from PIL import Image, UnidentifiedImageError

    path = check_input(path, "image")
    try:
        if _png_bit_depth(path) == 16:
            return _read_png16(path)
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
                return _gray_to_rgb(_to8(np.asarray(im)))
            if mode == "F":
                return _gray_to_rgb(np.clip(np.asarray(im) + 0.5, 0, 255).astype(np.uint8))
            if mode in ("L", "LA", "La", "1"):
                return _gray_to_rgb(np.asarray(im.convert("L")))
            if mode != "RGB":
                im = im.convert("RGBA" if "A" in mode or "transparency" in im.info else "RGB")
            array = np.array(im)              # a writable copy (torch.from_numpy warns on read-only)
    except UnidentifiedImageError:
        raise MediaError(f"{path}: not an image (format not recognised)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"{path}: truncated or corrupt image ({exc})") from None
    return np.ascontiguousarray(array[..., :3])


def _format_for(path: Path) -> str:
    from PIL import Image

    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise MediaError(f"{path}: unknown image extension {path.suffix!r}; use one of {', '.join(IMAGE_EXTENSIONS)}")
    return fmt


def write_image(path: str | os.PathLike[str], array, *, quality: int = 95) -> Path:
    """Write (H, W, 3) or (H, W) uint8 (or float in [0, 1]) to ``path`` atomically (temporary file + rename).

    The format follows the extension; JPEG and WebP use ``quality`` (default 95), PNG is lossless.
    """
    from PIL import Image

    image = np.asarray(array)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(f"image must be (H, W, 3) or (H, W), got shape {image.shape}")
    image = to_uint8(image)
    out = prepare_output(path)
    fmt = _format_for(out)
    options = {"quality": int(quality)} if fmt in ("JPEG", "WEBP") else {}
    try:
        with atomic_path(out) as tmp:
            Image.fromarray(np.ascontiguousarray(image)).save(tmp, format=fmt, **options)
    except OSError as exc:
        raise MediaError(f"{out}: cannot write image ({exc})") from None
    return out
