"""Pictures for reports: the middle frame of a media file, thumbnails, side-by-side strips, PNG bytes."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from talkingface.errors import MediaError
from talkingface.media import VideoReader, is_video, read_image


def middle_frame(path: Path, chunk: int = 32) -> np.ndarray:
    """The middle frame of a video (by its frame count), or the image itself."""
    if not is_video(path):
        return read_image(path)
    with VideoReader(path) as reader:
        mid = reader.frame_count // 2
        seen, last = 0, None
        for c in reader.chunks(chunk):
            if seen + len(c) > mid:
                return c[mid - seen]
            seen += len(c)
            last = c[-1]
    if last is None:
        raise MediaError(f"{path}: no frames")
    return last


def thumbnail(frame: np.ndarray, max_side: int = 256) -> np.ndarray:
    h, w = frame.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return frame
    import cv2

    return cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def side_by_side(panels: list, max_side: Optional[int] = None, gap: int = 4) -> np.ndarray:
    """Frames left to right (None = grey placeholder), each scaled to a common height (≤ max_side)."""
    real = [p for p in panels if p is not None]
    if not real:
        raise MediaError("nothing to show")
    height = max(p.shape[0] for p in real)
    if max_side:
        height = min(height, max_side)
    import cv2

    tiles = []
    for p in panels:
        if p is None:
            tile = np.full((height, height, 3), 200, np.uint8)
        else:
            w = max(1, round(p.shape[1] * height / p.shape[0]))
            tile = p if p.shape[0] == height else cv2.resize(p, (w, height), interpolation=cv2.INTER_AREA)
        tiles.append(tile)
        tiles.append(np.full((height, gap, 3), 255, np.uint8))
    return np.concatenate(tiles[:-1], axis=1)


def encode_png(frame: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(frame[..., ::-1]))
    if not ok:
        raise MediaError("PNG encoding failed")
    return buf.tobytes()
