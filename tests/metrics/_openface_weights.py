"""Shared by ``scripts/golden_pose_evaluation_aed.py`` (the authors' code) and ``test_aed_metric.py`` (the kit):
OpenFace nn4.small2.v1 formula weights and the AED golden's image pairs.

Weights: ``tests/golden_weights.py``'s rule for every key of the state dict (key ``"openface/<state-dict key>"``;
conv / linear ``gain * sqrt(3 / fan_in) * u``, biases ``0.1 sqrt(3) u``, BatchNorm weights ``1 + 0.1 sqrt(3) u``,
running statistics likewise) with the gains of ``GAINS``; written without ``num_batches_tracked`` like the
published ``openface.pth``.

Pairs (generated, ground truth), all 256x256 uint8 RGB, as FOMM evaluates: ``PAIRS`` says how each is made from
scikit-image's astronaut photo (integer arithmetic only) and from the kit's sample talking head
(``talkingface.sample.render_frame``, OpenCV rendering; the golden json keeps the sha256 of every image).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
import torch

NETWORK = "openface"
#: gain of every conv / linear weight (He-like 2 instead of 1: the signal grows through the 20 layers instead of
#: fading into the biases, so that embeddings differ per image); ``GAINS`` overrides per key
WEIGHT_GAIN = 2.0
GAINS: dict[str, float] = {}
ASTRO_BOX = (0, 256, 96, 352)   # rows, cols of astronaut() holding the face, 256x256 without resampling

PAIRS = {
    "shift": ("astronaut()[8:264, 104:360] (8 px down-right)", "astronaut()[0:256, 96:352]"),
    "scale": ("astronaut()[::2, ::2] (whole photo, half size)", "astronaut()[0:256, 96:352]"),
    "flip": ("face[:, ::-1] (mirrored)", "face = astronaut()[0:256, 96:352]"),
    "brightness": ("min(255, face * 3 // 2 + 20) (int arithmetic)", "face"),
    "blur": ("face, 9x9 box mean (edge-replicated), floor((sum + 40) / 81)", "face"),
    "talk_076": ("render_frame(astronaut(), 0.76, Motion(), 0.5)", "render_frame(astronaut(), 0.0, Motion(), 0.0)"),
    "talk_200": ("render_frame(astronaut(), 2.0, Motion(), 0.8)", "render_frame(astronaut(), 0.0, Motion(), 0.0)"),
    "identity": ("talkingface.sample.second_identity(talk 0.0) (mirrored, hue-rotated stand-in)",
                 "render_frame(astronaut(), 0.0, Motion(), 0.0)"),
}


def openface_state(state: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """Formula values for OpenFace state-dict keys and shapes (``num_batches_tracked`` entries dropped)."""
    import golden_weights as gw

    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, t in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        out[key] = gw._tensor(gw._common(f"{NETWORK}/{key}", key, t, GAINS.get(key, WEIGHT_GAIN)), t)
    return out


def rules() -> dict:
    import golden_weights as gw

    return {**{k: v for k, v in gw.RULES.items() if not k.startswith(("dagan", "syncnet"))},
            "key": "'openface/<state-dict key>'", "weight gain": WEIGHT_GAIN, "gains": GAINS,
            "num_batches_tracked": "not written"}


def _box9(img: np.ndarray) -> np.ndarray:
    pad = np.pad(img.astype(np.int64), ((4, 4), (4, 4), (0, 0)), mode="edge")
    h, w = img.shape[:2]
    total = sum(pad[i:i + h, j:j + w] for i in range(9) for j in range(9))
    return ((total + 40) // 81).astype(np.uint8)


def _talk(t: float, openness: float) -> np.ndarray:
    from skimage import data

    from talkingface.sample import Motion, render_frame

    return render_frame(data.astronaut(), t, Motion(), openness)


def make_pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (generated, ground truth)}`` as ``PAIRS`` describes."""
    from skimage import data

    from talkingface.sample import second_identity

    photo = data.astronaut()
    y0, y1, x0, x1 = ASTRO_BOX
    face = np.ascontiguousarray(photo[y0:y1, x0:x1])
    talk0 = _talk(0.0, 0.0)
    pairs = {
        "shift": (photo[y0 + 8:y1 + 8, x0 + 8:x1 + 8], face),
        "scale": (photo[::2, ::2], face),
        "flip": (face[:, ::-1], face),
        "brightness": (np.minimum(255, face.astype(np.int64) * 3 // 2 + 20).astype(np.uint8), face),
        "blur": (_box9(face), face),
        "talk_076": (_talk(0.76, 0.5), talk0),
        "talk_200": (_talk(2.0, 0.8), talk0),
        "identity": (second_identity(talk0), talk0),
    }
    return {k: (np.ascontiguousarray(a), np.ascontiguousarray(b)) for k, (a, b) in pairs.items()}


def lrn_probe() -> np.ndarray:
    """(2, 8, 3, 3) float32 input for the LRN check: values up to ~60, so the alpha term is a few percent."""
    import golden_weights as gw

    return (gw.uniform("openface/lrn_probe", 2 * 8 * 3 * 3) * np.float32(60.0)).reshape(2, 8, 3, 3)

