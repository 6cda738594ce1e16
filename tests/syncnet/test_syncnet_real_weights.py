"""The released syncnet_v2.model against syncnet_python's published example values (`pytest -m weights`).

syncnet_python's README prints offset 3, min dist 5.353, confidence 10.021 for its ``data/example.avi`` (fetched by
its download_model.sh; not in this repository). The test looks for that video at ``$SYNCNET_EXAMPLE_VIDEO``, else
``<checkpoints>/syncnet/example.avi``, and skips naming the missing file. Same check as ``python -m syncnet selftest``.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.weights


def _example_video() -> Path:
    from talkingface.weights import checkpoints_dir

    given = os.environ.get("SYNCNET_EXAMPLE_VIDEO")
    return Path(given) if given else checkpoints_dir() / "syncnet" / "example.avi"


def test_released_syncnet_gives_the_published_example_values():
    import syncnet
    from syncnet.cli import EXAMPLE_EXPECTED, EXAMPLE_TOLERANCE
    from talkingface.weights import weight_path

    weights = weight_path("syncnet_v2", required=False)
    if not weights.is_file():
        pytest.skip(f"real weights missing: syncnet_v2 ({weights})")
    video = _example_video()
    if not video.is_file():
        pytest.skip(f"syncnet_python's example video missing: {video} (set SYNCNET_EXAMPLE_VIDEO)")
    r = syncnet.evaluate_video(video, weights, device="cpu")
    got = {"offset": r.offset, "lse_d": r.lse_d, "lse_c": r.lse_c}
    assert r.offset == EXAMPLE_EXPECTED["offset"], (got, r.ffmpeg)
    for key in ("lse_d", "lse_c"):
        assert math.isclose(got[key], EXAMPLE_EXPECTED[key], abs_tol=EXAMPLE_TOLERANCE[key]), \
            f"{key} {got[key]:.4f}, published {EXAMPLE_EXPECTED[key]} (ffmpeg {r.ffmpeg}: LSE moves with its version)"
