"""Formula weights for facenet-pytorch's InceptionResnetV1 and the face images of the CSIM golden.

Shared by ``scripts/golden_dagan_csim.py`` (which runs DaGAN's CSIM code on them) and
``tests/metrics/test_csim_metric.py`` (which runs the kit on them). The weights follow ``tests/golden_weights.py``
(every tensor a closed-form function of ``"facenet/<key>"`` and its flat index, no RNG) with the gains below; MTCNN
keeps its real packaged weights, so the faces found are real. The images are made from scikit-image's photos with
integer arithmetic only (no resampling library), so they are identical on every machine; the kit's sample talking
head frames (``talkingface.sample.render_frame``, OpenCV float warps) are checked by sha256 and their cases skipped
if another OpenCV renders them differently.
"""
from __future__ import annotations

import hashlib
import math
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

import golden_weights  # noqa: E402

#: conv weights (4-D) and ``last_linear.weight``: ``gain * sqrt(3 / fan_in) * (u - mean_row(u))``, each output
#: filter's values centred (zero sum): filters then answer to a face's structure rather than to its mean colour, and
#: with the He-like gain 2 the random network's embeddings of different faces differ (CSIM 0.7 to 0.99, not all ~1).
#: The row mean is exact: sum of the 24-bit integers behind u in int64, one float64 division; the product in float64,
#: then one rounding to float32. Everything else follows golden_weights (BatchNorm statistics, biases, logits).
FACENET_CONV_GAIN = 2.0
FACENET_CENTRED = "last_linear.weight"
FACENET_FILE = "20180402-114759-vggface2.pt"        # the name facenet-pytorch caches it under
RULES = {**{k: v for k, v in golden_weights.RULES.items() if not k.startswith(("dagan", "syncnet"))},
         "key": "'facenet/<state-dict key>' (facenet-pytorch InceptionResnetV1 with the 8631-class logits)",
         "centred weights (4-D convs, last_linear.weight)":
             "float32(float64(float32(gain * sqrt(3 / fan_in))) * (u - m)), m = the mean of u over the output row "
             "(exact integer sum of (u + 1) * 2**23, one float64 division), gain 2 for convs, 1 for last_linear",
         "num_batches_tracked": "0 (0-d int64)"}


def _centred(key: str, t: torch.Tensor, gain: float) -> np.ndarray:
    rows = t.shape[0]
    cols = t.numel() // rows
    u = golden_weights.uniform(key, t.numel()).reshape(rows, cols)
    k = np.rint((u.astype(np.float64) + 1.0) * 2.0 ** 23).astype(np.int64)           # exact 24-bit integers
    mean = (k.sum(axis=1) - cols * 2 ** 23) / float(cols * 2 ** 23)
    scale = np.float64(np.float32(gain * math.sqrt(3.0 / cols)))
    return (scale * (u.astype(np.float64) - mean[:, None])).astype(np.float32)


def facenet_state(state) -> OrderedDict[str, torch.Tensor]:
    """Formula values for InceptionResnetV1's state-dict keys and shapes (incl. ``logits.*``)."""
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, t in state.items():
        if key.endswith("num_batches_tracked"):             # torch's own 0-d long (golden_weights makes it 1-d)
            out[key] = torch.zeros((), dtype=t.dtype)
        elif t.ndim == 4 or key == FACENET_CENTRED:
            out[key] = golden_weights._tensor(_centred(f"facenet/{key}", t, FACENET_CONV_GAIN if t.ndim == 4
                                                       else 1.0), t)
        else:
            out[key] = golden_weights._tensor(golden_weights._common(f"facenet/{key}", key, t), t)
    return out


def facenet_formula_state() -> tuple[OrderedDict[str, torch.Tensor], str]:
    """(state dict of InceptionResnetV1(classify, 8631 classes) with formula values, its state_digest)."""
    from facenet_pytorch import InceptionResnetV1

    with torch.device("meta"):
        model = InceptionResnetV1(pretrained=None, classify=True, num_classes=8631)
    state = facenet_state(model.state_dict())
    return state, golden_weights.state_digest({"facenet": state})


def write_facenet_file(path: str | Path) -> tuple[Path, str]:
    """The formula state dict saved with torch.save (the published file's format: a plain state dict)."""
    state, digest = facenet_formula_state()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path, digest


# ------------------------------------------------------------------------------------------------------- images
IMAGES = {
    "astronaut": "skimage.data.astronaut() (512x512)",
    "astronaut_shift": "astronaut[20:468, 30:478] (448x448: moved and smaller)",
    "astronaut_half": "astronaut 2x2 block sums, (s + 2) // 4 (256x256)",
    "astronaut_flip": "astronaut[:, ::-1]",
    "astronaut_bright": "min(a * 5 // 4 + 12, 255) on int32",
    "astronaut_blur": "5x5 box sum of the edge-padded image, (s + 12) // 25",
    "two_faces": "grey 128 canvas 512x768, astronaut at [:, :512], astronaut_half mirrored at [128:384, 512:768]",
    "coffee": "skimage.data.coffee() (no face)",
    "head_rest": "talkingface.sample.render_frame(astronaut, 0.0, CLIPS['talk'], 0.0)",
    "head_blink": "talkingface.sample.render_frame(astronaut, 1.45, CLIPS['talk'], 0.8)",
    "head_second": "talkingface.sample.second_identity(head_rest)",
}
#: (case name, source image, generated image): the pairs scored, in the golden's order
CASES = [
    ("same", "astronaut", "astronaut"),
    ("shift", "astronaut", "astronaut_shift"),
    ("half", "astronaut", "astronaut_half"),
    ("flip", "astronaut", "astronaut_flip"),
    ("bright", "astronaut", "astronaut_bright"),
    ("blur", "astronaut", "astronaut_blur"),
    ("two_faces", "astronaut", "two_faces"),
    ("no_face_generated", "astronaut", "coffee"),
    ("no_face_source", "coffee", "astronaut"),
    ("head_blink", "head_rest", "head_blink"),
    ("head_second", "head_rest", "head_second"),
    ("head_vs_photo", "astronaut", "head_rest"),
]
OPENCV_IMAGES = ("head_rest", "head_blink", "head_second")


def _half(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[0] // 2, a.shape[1] // 2
    s = a[:2 * h, :2 * w].astype(np.int32).reshape(h, 2, w, 2, 3).sum(axis=(1, 3))
    return ((s + 2) // 4).astype(np.uint8)


def _box5(a: np.ndarray) -> np.ndarray:
    p = np.pad(a.astype(np.int64), ((2, 2), (2, 2), (0, 0)), mode="edge")
    c = np.cumsum(np.cumsum(np.pad(p, ((1, 0), (1, 0), (0, 0))), axis=0), axis=1)
    h, w = a.shape[:2]
    s = c[5:5 + h, 5:5 + w] - c[:h, 5:5 + w] - c[5:5 + h, :w] + c[:h, :w]
    return ((s + 12) // 25).astype(np.uint8)


def make_image(name: str) -> np.ndarray:
    """The (H,W,3) uint8 RGB image ``name`` of :data:`IMAGES`."""
    from skimage import data

    a = data.astronaut()
    if name == "astronaut":
        return a
    if name == "astronaut_shift":
        return np.ascontiguousarray(a[20:468, 30:478])
    if name == "astronaut_half":
        return _half(a)
    if name == "astronaut_flip":
        return np.ascontiguousarray(a[:, ::-1])
    if name == "astronaut_bright":
        return np.minimum(a.astype(np.int32) * 5 // 4 + 12, 255).astype(np.uint8)
    if name == "astronaut_blur":
        return _box5(a)
    if name == "two_faces":
        canvas = np.full((512, 768, 3), 128, np.uint8)
        canvas[:, :512] = a
        canvas[128:384, 512:768] = _half(a)[:, ::-1]
        return canvas
    if name == "coffee":
        return data.coffee()
    if name in OPENCV_IMAGES:
        from talkingface import sample

        rest = sample.render_frame(a, 0.0, sample.CLIPS["talk"], 0.0)
        if name == "head_rest":
            return rest
        if name == "head_blink":
            return sample.render_frame(a, 1.45, sample.CLIPS["talk"], 0.8)
        return sample.second_identity(rest)
    raise KeyError(name)


def image_sha256(image: np.ndarray) -> str:
    """sha256 over shape and bytes (identifies an image; a drifted one is told apart from a kit change)."""
    h = hashlib.sha256(f"{image.shape}|{image.dtype}\n".encode())
    h.update(np.ascontiguousarray(image).tobytes())
    return h.hexdigest()
