"""talkingface.images: conversions to (H, W, 3) uint8 RGB, atomic writes, clear errors."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from talkingface.errors import MediaError
from talkingface.media import ffmpeg_exe
from talkingface.media.images import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, is_image, is_video, read_image, write_image

# 16-bit values around the rounding boundaries of round(v / 257): 385/257 = 1.498 -> 1, 386/257 = 1.502 -> 2
VALUES16 = np.array([0, 128, 129, 385, 386, 32767, 32768, 65406, 65407, 65535], dtype=np.uint16)


def expected8(v: np.ndarray) -> np.ndarray:
    return np.floor(v.astype(np.float64) / 257 + 0.5).astype(np.uint8)


def rgb_pattern(h: int = 12, w: int = 10) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 20, y * 15, (x + y) * 9], axis=-1).astype(np.uint8)


def write_png16(path: Path, samples: np.ndarray, pix_fmt: str) -> Path:
    """A 16-bit PNG made by the pinned ffmpeg from little-endian samples (H, W, C)."""
    h, w = samples.shape[:2]
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{w}x{h}", "-i", "-",
                    "-frames:v", "1", "-c:v", "png", str(path)], input=samples.astype("<u2").tobytes(), check=True)
    return path


def test_rgb_png_and_jpeg(tmp_path):
    rgb = rgb_pattern()
    Image.fromarray(rgb).save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgb)
    write_image(tmp_path / "b.jpg", rgb)
    got = read_image(tmp_path / "b.jpg")
    assert got.shape == rgb.shape and got.dtype == np.uint8
    assert np.abs(got.astype(int) - rgb).mean() < 6


def test_grayscale_becomes_three_equal_channels(tmp_path):
    gray = rgb_pattern()[..., 0]
    Image.fromarray(gray, "L").save(tmp_path / "g.png")
    got = read_image(tmp_path / "g.png")
    assert got.shape == (*gray.shape, 3)
    for c in range(3):
        np.testing.assert_array_equal(got[..., c], gray)


def test_alpha_is_dropped_not_composited(tmp_path):
    rgb = rgb_pattern()
    alpha = np.zeros(rgb.shape[:2], np.uint8)  # fully transparent: compositing on black would give zeros
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgb)
    Image.fromarray(np.dstack([rgb[..., 0], alpha]), "LA").save(tmp_path / "la.png")
    np.testing.assert_array_equal(read_image(tmp_path / "la.png")[..., 1], rgb[..., 0])


def test_palette_images(tmp_path):
    rgb = rgb_pattern()
    pal = Image.fromarray(rgb).quantize(colors=16)
    pal.save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_image(tmp_path / "p.png"), np.asarray(pal.convert("RGB")))
    pal.info["transparency"] = 0
    pal.save(tmp_path / "pt.png", transparency=0)
    np.testing.assert_array_equal(read_image(tmp_path / "pt.png"), np.asarray(pal.convert("RGB")))


@pytest.mark.parametrize("pix_fmt,channels", [("gray16le", 1), ("ya16le", 2), ("rgb48le", 3), ("rgba64le", 4)])
def test_16_bit_png_scaled_by_257_rounded(tmp_path, pix_fmt, channels):
    h, w = 4, len(VALUES16)
    samples = np.zeros((h, w, channels), np.uint16)
    for c in range(channels):
        samples[..., c] = np.roll(VALUES16, c)[None, :]  # different values per channel
    path = write_png16(tmp_path / "deep.png", samples, pix_fmt)
    got = read_image(path)
    assert got.shape == (h, w, 3) and got.dtype == np.uint8
    colour = samples[..., :3] if channels >= 3 else np.repeat(samples[..., :1], 3, axis=2)
    np.testing.assert_array_equal(got, expected8(colour))


def test_16_bit_gray_through_pillow_mode(tmp_path):
    img = Image.fromarray(np.tile(VALUES16, (3, 1)))  # mode I;16
    img.save(tmp_path / "g16.tif")  # TIFF keeps 16-bit gray; read through Pillow's I;16 path
    got = read_image(tmp_path / "g16.tif")
    np.testing.assert_array_equal(got[..., 2], np.tile(expected8(VALUES16), (3, 1)))


def test_write_image_float_gray_and_atomic(tmp_path):
    rgb = rgb_pattern()
    out = write_image(tmp_path / "sub" / "f.png", rgb.astype(np.float32) / 255)
    np.testing.assert_array_equal(read_image(out), rgb)
    write_image(tmp_path / "g.png", rgb[..., 0])
    np.testing.assert_array_equal(read_image(tmp_path / "g.png")[..., 1], rgb[..., 0])
    with pytest.raises(MediaError, match="unknown image extension"):
        write_image(tmp_path / "x.xyz", rgb)
    with pytest.raises(ValueError):
        write_image(tmp_path / "bad.png", np.zeros((4, 4, 2), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png", "sub"]
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["f.png"]


@pytest.mark.parametrize("case,reason", [("missing", "no such file"), ("empty", "empty file"),
                                         ("text", "not an image"), ("directory", "is a directory"),
                                         ("truncated", "truncated or corrupt")])
def test_bad_images_give_one_line_media_error(tmp_path, case, reason):
    path = tmp_path / f"{case}.png"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("hello, not a picture\n")
    elif case == "directory":
        path.mkdir()
    elif case == "truncated":
        noisy = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        Image.fromarray(noisy).save(tmp_path / "full.png")
        data = (tmp_path / "full.png").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError) as info:
        read_image(path)
    assert str(path) in str(info.value) and reason in str(info.value) and "\n" not in str(info.value)


def test_extension_helpers():
    assert IMAGE_EXTENSIONS == (".png", ".jpg", ".jpeg", ".bmp", ".webp")
    assert VIDEO_EXTENSIONS == (".mp4", ".avi", ".mov", ".mkv", ".webm")
    assert is_image("a/B.JPG") and is_image(Path("x.webp")) and not is_image("x.mp4")
    assert is_video("clip.MKV") and not is_video("x.png") and not is_video("noext")


def rgba_portrait(path: Path) -> np.ndarray:
    """A 1024x1024 RGBA portrait PNG like the DaGAN demo's source image, made by the kit from skimage's astronaut
    photo (upscaled) with an alpha channel that is opaque on the face and fades out towards the corners. Returns the
    RGBA pixels written."""
    from skimage.data import astronaut

    rgb = np.asarray(Image.fromarray(astronaut()).resize((1024, 1024), Image.Resampling.BICUBIC))
    y, x = np.mgrid[0:1024, 0:1024]
    r = np.hypot((x - 448) / 420, (y - 300) / 520)
    alpha = np.clip(255 * (1.6 - r), 0, 255).astype(np.uint8)
    rgba = np.dstack([rgb, alpha])
    Image.fromarray(rgba, "RGBA").save(path)
    return rgba


def test_real_fixture_rgba_portrait(tmp_path, shared_fixtures):
    """A real-size RGBA portrait reads as its stored colour channels (alpha dropped, not composited)."""
    rgba = rgba_portrait(tmp_path / "src.png")
    assert rgba[..., 3].min() == 0 and rgba[..., 3].max() == 255 and rgba.shape == (1024, 1024, 4)
    paths = [tmp_path / "src.png"]
    if shared_fixtures is not None and (shared_fixtures / "dagan" / "src.png").is_file():
        paths.append(shared_fixtures / "dagan" / "src.png")     # the DaGAN authors' portrait, when available
    for path in paths:
        with Image.open(path) as im:
            assert im.mode == "RGBA"
            stored = np.asarray(im)
        got = read_image(path)
        assert got.shape == (1024, 1024, 3) and got.dtype == np.uint8
        np.testing.assert_array_equal(got, stored[..., :3])
    np.testing.assert_array_equal(read_image(paths[0]), rgba[..., :3])


def test_read_image_returns_a_writable_array(tmp_path):
    """torch.from_numpy warns on (and may write through) read-only arrays: what read_image gives is writable."""
    for name in ("a.png", "b.jpg"):
        write_image(tmp_path / name, np.zeros((8, 8, 3), np.uint8))
        assert read_image(tmp_path / name).flags.writeable
