"""The AKD golden's fixtures: formula weights for face-alignment 1.5.0's 2D-FAN-4 and S3FD (no RNG, no download)
and the input frames.

Shared by ``scripts/golden_pose_evaluation_akd.py`` (the authors' pose-evaluation code runs on them) and
``tests/metrics/test_akd_metric.py`` (the kit runs on them). Every tensor comes from ``tests/golden_weights.py``'s
closed-form ``u(key, i)`` with the generic rule (``golden_weights.RULES``), key ``"fan/<key>"`` / ``"s3fd/<key>"``,
except (``RULES`` below says the same in words; it goes into the golden's json):

* S3FD's L2Norm weights (``conv{3,4,5}_3_norm.weight``): the constants the module is built with (10, 8, 5);
* S3FD's detection: only the ``fc7`` head (stride 32, 128-px anchors) may fire. Its classification weights get gain
  ``DETECT_GAIN`` (10) and its face-class bias ``DETECT_BIAS`` (0), so the face score is a sharp function of the
  picture: on textured photos a few anchors pass face-alignment's 0.5 threshold, on a flat frame none does (its
  fc7 features are near-constant and the face logit stays below the background one). Its box regression gets gain
  ``LOC_GAIN`` (so boxes differ in size and the first face is not always the largest). Every other head's
  face-class bias is ``OFF_BIAS`` (-20): those never fire.
"""
from __future__ import annotations

import math
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import golden_weights as gw  # noqa: E402

L2NORM_SCALES = {"conv3_3_norm.weight": 10.0, "conv4_3_norm.weight": 8.0, "conv5_3_norm.weight": 5.0}
DETECT_HEAD = "fc7_mbox"
DETECT_GAIN, DETECT_BIAS, LOC_GAIN, OFF_BIAS = 1.0, -6.0, 0.01, -20.0
TRUNK_GAIN = math.sqrt(2.0)
#: the face channel of each classification head (conv3_3's head max-outs 3 background channels against channel 3)
FACE_CHANNEL = {"conv3_3_norm_mbox_conf": 3}

RULES = {
    "formula": gw.FORMULA_NAME,
    "uniform": gw.RULES["uniform"],
    "keys": "'fan/<state-dict key>' (2D-FAN-4), 's3fd/<state-dict key>' (S3FD)",
    "generic rule": {k: gw.RULES[k] for k in ("weights (ndim > 1)", "biases", "norm weights (1-D *.weight)",
                                              "running_mean", "running_var", "num_batches_tracked")},
    "s3fd L2Norm weights": L2NORM_SCALES,
    "s3fd detection": f"only {DETECT_HEAD}_conf can fire: its weight gain {DETECT_GAIN}, its face-class bias "
                      f"{DETECT_BIAS} (background bias by the generic rule); {DETECT_HEAD}_loc weight gain "
                      f"{LOC_GAIN}; the face-class bias of every other *_mbox_conf head {OFF_BIAS}",
}


def fan_state(state) -> OrderedDict[str, torch.Tensor]:
    """Formula values for a 2D-FAN-4 (``face_alignment.models.FAN(4)``) state dict's keys and shapes."""
    return OrderedDict((k, gw._tensor(gw._common(f"fan/{k}", k, t), t)) for k, t in state.items())


def s3fd_state(state) -> OrderedDict[str, torch.Tensor]:
    """Formula values for an S3FD (``face_alignment.detection.sfd.net_s3fd.s3fd``) state dict (see the docstring)."""
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, t in state.items():
        layer = key.rsplit(".", 1)[0]
        if key in L2NORM_SCALES:
            values = np.full(t.numel(), L2NORM_SCALES[key], np.float32)
        elif key == "conv1_1.weight":
            values = gw._common(f"s3fd/{key}", key, t, TRUNK_GAIN).reshape(t.shape[0], -1).astype(np.float64)
            values = (values - values.mean(axis=1, keepdims=True)).astype(np.float32)
        elif layer.endswith("_mbox_conf") and layer != f"{DETECT_HEAD}_conf" and key.endswith("weight"):
            values = np.zeros(t.numel(), np.float32)
        elif layer == f"{DETECT_HEAD}_conf" and key.endswith("weight"):
            values = gw._common(f"s3fd/{key}", key, t, DETECT_GAIN)
        elif layer == f"{DETECT_HEAD}_loc" and key.endswith("weight"):
            values = gw._common(f"s3fd/{key}", key, t, LOC_GAIN)
        else:
            values = gw._common(f"s3fd/{key}", key, t, TRUNK_GAIN if "mbox" not in key else 1.0)
        if layer.endswith("_mbox_conf") and key.endswith("bias"):
            values = np.array(values, np.float32)
            values[FACE_CHANNEL.get(layer, 1)] = DETECT_BIAS if layer == f"{DETECT_HEAD}_conf" else OFF_BIAS
        out[key] = gw._tensor(values, t)
    return out


def _meta_state(build) -> OrderedDict[str, torch.Tensor]:
    with torch.device("meta"):
        return build().state_dict()


def write_face_alignment_files(folder: str | Path) -> tuple[dict[str, Path], str]:
    """The two files face-alignment 1.5.0 loads (plain state dicts, as its downloads are) with formula weights:
    (``{"fan": 2DFAN4-….pth.tar, "s3fd": s3fd-….pth}``, :func:`golden_weights.state_digest` of both)."""
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    states = {"fan": fan_state(_meta_state(lambda: FAN(4))), "s3fd": s3fd_state(_meta_state(s3fd))}
    files = {"fan": folder / "2DFAN4-11f355bf06.pth.tar", "s3fd": folder / "s3fd-619a316812.pth"}
    for name, path in files.items():
        torch.save(states[name], path)
    return files, gw.state_digest(states)


INPUTS = {
    "photo": "skimage.data.astronaut() (512x512 uint8 RGB), a = photo",
    "v256": "3 frame pairs at 256x256 (gt, gen): 0: a[0:256, 96:352] vs a[8:264, 90:346] * 9 // 10 (shifted crop, "
            "darker); 1: talking head t=0 s, mouth 0.2 vs t=0.76 s, mouth 0.8 (talkingface.sample.render_frame, "
            "CLIPS['talk']); 2: a[0:256, 96:352] vs a flat grey frame (128): no face on the generated side",
    "v512": "1 frame pair at 512x512: a vs a[0:256, 96:352] zoomed x2 by pixel repetition",
}


def akd_inputs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"v256": (gt (3,256,256,3), gen), "v512": (gt (1,512,512,3), gen)}`` uint8, as ``INPUTS`` says."""
    from skimage.data import astronaut

    from talkingface import sample

    a = astronaut()
    face = a[0:256, 96:352]
    darker = (a[8:264, 90:346].astype(np.uint16) * 9 // 10).astype(np.uint8)
    motion = sample.CLIPS["talk"]
    talk = [sample.render_frame(a, t, motion, mouth) for t, mouth in ((0.0, 0.2), (0.76, 0.8))]
    grey = np.full((256, 256, 3), 128, np.uint8)
    zoom = np.repeat(np.repeat(face, 2, axis=0), 2, axis=1)
    return {"v256": (np.stack([face, talk[0], face]), np.stack([darker, talk[1], grey])),
            "v512": (a[None].copy(), zoom[None])}


def sha256_of(arr: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
