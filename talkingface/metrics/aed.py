"""AED, FOMM's reference protocol: pose-evaluation ``extract.py --type face_id`` + ``cmp.py``.

Per frame (``extract_face_id``, AliaksandrSiarohin/pose-evaluation @ 1bc4cae1):

1. RGB -> BGR (``frame[..., ::-1]``) of the whole uint8 frame (FOMM evaluates 256x256 frames; no face crop);
2. ``skimage.transform.resize(frame, (96, 96))`` with the defaults of the scikit-image FOMM pinned (0.14.0):
   bilinear (order 1), ``mode='constant'``, **no anti-aliasing**, uint8 -> float in [0, 1]. scikit-image >= 0.15
   anti-aliases a downscale by default, so the kit passes these arguments explicitly (``resize="fomm"``); the
   option ``resize="antialias"`` gives what the same line does under scikit-image >= 0.15 (Gaussian
   sigma ``(256/96 - 1) / 2``, ``mode='reflect'``) and is NOT the reference;
3. (3, 96, 96) float32 -> OpenFace nn4.small2.v1 (OpenFacePytorch ``openface.pth``, :mod:`openface_net`) -> the
   unit-norm 128-d embedding.

``cmp.py``: per frame ``np.sum(np.abs(a - b) ** 2)``, the SQUARED Euclidean distance (no square root) between the
generated and the ground-truth embedding; the score of a set is the mean over frames. Lower is better; the
range is [0, 4]. The kit embeds frames in batches (the reference did one frame at a time; same numbers up to
float32 rounding).
"""
from __future__ import annotations

import numpy as np
import torch

from talkingface.errors import KitError
from talkingface.metrics.base import MetricSpec, as_uint8_batch, check_pair
from talkingface.metrics.openface_net import OpenFaceNN4Small2
from talkingface.metrics.protocols import SPECS
from talkingface.weights import load_state_dict_file, load_state_strict, require_weights

WEIGHTS_NAME = "openface_nn4_small2"
#: skimage.transform.resize arguments: "fomm" = scikit-image 0.14.0's defaults (what FOMM ran), "antialias" = the
#: defaults of scikit-image >= 0.15 for a downscale (what extract.py gives when rerun today; not the reference)
RESIZE_MODES = {"fomm": {"order": 1, "mode": "constant", "anti_aliasing": False},
                "antialias": {"order": 1, "mode": "reflect", "anti_aliasing": True}}


def preprocess(frames: np.ndarray, resize: str = "fomm") -> np.ndarray:
    """(N,H,W,3) uint8 RGB -> (N,3,96,96) float32 BGR in [0, 1], as ``extract_face_id`` feeds the network."""
    from skimage.transform import resize as sk_resize

    if resize not in RESIZE_MODES:
        raise KitError(f"aed: unknown resize {resize!r}; known: {', '.join(RESIZE_MODES)}")
    size = OpenFaceNN4Small2.INPUT_SIZE
    out = np.empty((len(frames), 3, size, size), dtype=np.float32)
    for i, frame in enumerate(frames):
        small = sk_resize(frame[..., ::-1], (size, size), **RESIZE_MODES[resize])
        out[i] = np.transpose(small, (2, 0, 1))
    return out


def build_openface(weights=None, device: str | torch.device = "cpu") -> OpenFaceNN4Small2:
    """The eval-mode network with ``weights`` (default: the manifest's ``openface/openface.pth``), loaded strictly:
    a WeightsError naming the file when it is missing, and the missing / unexpected / misshapen keys when it does not
    fit. The published file has no BatchNorm ``num_batches_tracked`` entries; they are optional."""
    path = require_weights({"net": (WEIGHTS_NAME, weights)})["net"]
    state = load_state_dict_file(path, "OpenFacePytorch openface.pth state dict")
    model = OpenFaceNN4Small2()                      # 3.7 M parameters: a plain build is cheap
    load_state_strict(model, state, path, "the OpenFace nn4.small2.v1 state dict",
                      optional_suffixes=(".num_batches_tracked",))
    return model.float().eval().to(device)


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """cmp.py's per-frame score: ``sum(|a - b| ** 2)`` over the embedding, in float64."""
    diff = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    return np.sum(diff ** 2, axis=-1)


class AedMetric:
    """Registry object: ``m(generated, reference) -> (N,)`` squared L2 distances of OpenFace embeddings."""

    def __init__(self, spec: MetricSpec, device: str = "cpu", weights=None, resize: str = "fomm",
                 batch_size: int = 64):
        if resize not in RESIZE_MODES:
            raise KitError(f"aed: unknown resize {resize!r}; known: {', '.join(RESIZE_MODES)}")
        self.spec = spec
        self.device = torch.device(device)
        self.resize = resize
        self.batch_size = int(batch_size)
        self.model = build_openface(weights, device=self.device)

    def embed(self, frames) -> np.ndarray:
        """(N,H,W,3) uint8 RGB -> (N, 128) float32 embeddings."""
        batch = as_uint8_batch(frames, "aed frames")
        out = []
        with torch.no_grad():
            for s in range(0, len(batch), self.batch_size):
                x = torch.from_numpy(preprocess(batch[s:s + self.batch_size], self.resize)).to(self.device)
                out.append(self.model(x).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, OpenFaceNN4Small2.EMBEDDING_DIM), np.float32)

    def __call__(self, generated, reference=None) -> np.ndarray:
        if reference is None:
            raise KitError("aed needs a reference batch (the ground-truth frames; full-reference metric)")
        a = as_uint8_batch(generated, "aed generated")
        b = as_uint8_batch(reference, "aed reference")
        check_pair(a, b)
        return squared_distances(self.embed(a), self.embed(b))


def aed(generated, reference, weights=None, device: str = "cpu", resize: str = "fomm") -> float:
    """Mean AED of two (N,H,W,3) (or one (H,W,3)) uint8 RGB frame batches (builds the network each call)."""
    metric = AedMetric(SPECS["aed"], device=device, weights=weights, resize=resize)
    return float(np.mean(metric(generated, reference)))
