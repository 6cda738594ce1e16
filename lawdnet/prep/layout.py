"""Where each preprocessing step writes, in the authors' ``asserts/training_data`` layout, and its done-markers."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: 25 fps frames: ``<FRAMES>/<video>/%06d.jpg``
FRAMES = "split_video_25fps_frame"
#: 16 kHz mono 16-bit wavs: ``<AUDIO>/<video>.wav``
AUDIO = "split_video_25fps_audio"
#: dp1 rows (DeepSpeech v0.1 graph): ``<DP1>/<video>_deepspeech.txt`` (np.savetxt, T x 29)
DP1 = "split_video_25fps_deepspeech"
#: dp2 rows (deepspeech.pytorch): ``<DP2>/<video>_deepspeech_dp2.txt`` (the authors' ``deep_speech_dir + '_2'``)
DP2 = "split_video_25fps_deepspeech_2"
#: the 68 landmarks the crop step used, in OpenFace's CSV columns: ``<LANDMARKS>/<video>.csv``
LANDMARKS = "split_video_25fps_landmark_openface"
#: aligned 832x640 crops: ``<CROPS>/<video>/<clip %06d>/<frame %06d>.jpg``
CROPS = "split_video_25fps_crop_face"
#: the training JSON the authors' dataset reads
JSON = "training_json/training_json.json"

#: per-video steps in the order they run (the JSON is built afterwards, over all videos)
STEPS = ("frames", "audio", "dp1", "dp2", "crops")
FEATURE_DIRS = {"dp1": DP1, "dp2": DP2}
FEATURE_SUFFIX = {"dp1": "_deepspeech.txt", "dp2": "_deepspeech_dp2.txt"}
#: the runner's bookkeeping of each step (markers ``.done/<step>/<video>.json``, reports)
STEP_REPORTS = ".prep"


def frame_name(index: int) -> str:
    """``%06d.jpg``, the authors' frame and crop file name."""
    return f"{index:06d}.jpg"


def feature_path(root: Path, kind: str, video: str) -> Path:
    """The feature file of ``video`` (dp1 or dp2)."""
    return Path(root) / FEATURE_DIRS[kind] / f"{video}{FEATURE_SUFFIX[kind]}"


def job_id(step: str, video: str) -> str:
    """The runner's id of one step of one video (its marker is ``.done/<step>/<video>.json``)."""
    return f"{step}/{video}"


def marker(root: Path, step: str, video: str) -> dict[str, Any] | None:
    """The record of a finished step of ``video`` (its stats), or None when that step has not finished."""
    path = Path(root) / ".done" / step / f"{video}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
