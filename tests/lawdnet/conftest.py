"""Fixtures shared by the LawDNet tests: the golden dataset's tiny training set in the authors' layout (training), and
a short template video with a speech clip (the lip-sync service)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

GOLDEN_DATASET = Path(__file__).resolve().parents[1] / "data" / "golden" / "lawdnet_dataset.npz"
GOLDEN_VIDEOS = ("a", "b")                       # 7 and 6 clips, as scripts/make_golden_lawdnet_dataset.py


def write_golden_training_set(root: Path) -> Path:
    """The inputs of scripts/make_golden_lawdnet_dataset.py (52x40 JPEG crops of 9-frame clips, dp1/dp2 rows) in
    the authors' layout under ``root``, with the kit's own training JSON; returns ``root``."""
    from lawdnet.prep import layout
    from lawdnet.prep.training_json import build_training_json

    golden = np.load(GOLDEN_DATASET)
    blob = golden["jpeg"].tobytes()
    for v, clip, frame, start, end in golden["jpeg_offsets"]:
        path = root / layout.CROPS / GOLDEN_VIDEOS[v] / f"{clip:06d}" / layout.frame_name(int(clip) * 9 + int(frame))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob[start:end])
    for video in GOLDEN_VIDEOS:
        rows = {kind: golden[f"{kind}_{video}"].reshape(-1, 29) for kind in ("dp1", "dp2")}
        for step, record in (("frames", {"frames": len(rows["dp1"])}), ("crops", {}), ("dp1", {}), ("dp2", {})):
            (root / ".done" / step).mkdir(parents=True, exist_ok=True)
            (root / ".done" / step / f"{video}.json").write_text(json.dumps(record))
        for kind, values in rows.items():
            layout.feature_path(root, kind, video).parent.mkdir(parents=True, exist_ok=True)
            np.savetxt(layout.feature_path(root, kind, video), values)
    summary = build_training_json(root, list(GOLDEN_VIDEOS), path_root=str(root))
    assert summary["videos"] == 2 and summary["clips"] == 13
    return root


@pytest.fixture(scope="module")
def golden_training_root(tmp_path_factory) -> Path:
    """:func:`write_golden_training_set` in a fresh folder (once per test module)."""
    return write_golden_training_set(tmp_path_factory.mktemp("lawdnet_train"))


#: frames of :func:`lipsync_speech` (0.32 s at 25 fps)
SPEECH_FRAMES = 8


@pytest.fixture(scope="session")
def lipsync_template(make_video) -> Path:
    """16 frames of the kit's sample talking head: a template video for the lip-sync service."""
    return make_video.talking_head(frames=16)


@pytest.fixture(scope="session")
def lipsync_speech(make_video) -> Path:
    """:data:`SPEECH_FRAMES` frames of the sample talking head with its speech (AAC): a request's audio."""
    return make_video.talking_head(frames=SPEECH_FRAMES, audio=True)
