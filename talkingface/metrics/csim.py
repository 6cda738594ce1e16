"""CSIM, the identity similarity of DaGAN (CVPR 2022), as its ``utils.py`` ``evaluate_PRMSE_AUCON`` computes it.

The authors' protocol, per image pair (the source image and a generated frame)::

    mtcnn = MTCNN(image_size=256, margin=0); resnet = InceptionResnetV1(pretrained='vggface2').eval()
    face = mtcnn(Image.open(path))                       # PIL image -> crop of the largest face, 256x256
    emb = resnet(face.unsqueeze(0))                      # L2-normalised 512-d embedding
    CSIM += torch.cosine_similarity(source_emb, generate_emb).item()

and a pair where MTCNN finds no face on either side raises inside their ``try`` and is skipped: the reported CSIM
is the mean over the pairs that have a face on both sides. The kit does exactly this with facenet-pytorch's own
code (``talkingface.metrics.facenet``: networks from the kit's weight files, never downloaded). Frames arrive as
uint8 RGB arrays and are turned into PIL images first, because facenet's crop-and-resize depends on the input
type (PIL bilinear for PIL images, which the authors read with ``Image.open``; OpenCV INTER_AREA for arrays).

Per frame the metric returns the cosine similarity, or NaN where MTCNN found no face (the runner leaves those out
of the mean and reports how many). The source's embedding is computed once per distinct source image (keyed by
the hash of its bytes and shape); the identity network runs batched over frames (BatchNorm in eval mode, so a
frame's embedding does not depend on its batch).
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
import torch

from talkingface.errors import MediaError
from talkingface.metrics.base import MetricSpec, as_uint8_batch
from talkingface.metrics.facenet import build_inception_resnet, build_mtcnn, require_csim_weights
from talkingface.metrics.protocols import SPECS

_SOURCE_CACHE_SIZE = 16     # distinct source images remembered (one per sample; the runner scores sample by sample)


def _image_key(image: np.ndarray) -> tuple:
    digest = hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()
    return image.shape, digest


class CsimMetric:
    """Registry object: ``m(generated, source) -> (N,)`` cosine similarity of each generated frame's face embedding
    with its source frame's (NaN where no face is found on either side).

    ``weights``: the InceptionResnetV1 VGGFace2 state dict (default: manifest ``facenet_vggface2``);
    ``detector_weights``: MTCNN's networks, a folder with ``pnet.pt``, ``rnet.pt``, ``onet.pt`` or a mapping
    ``{"pnet": path, ...}`` (default: the manifest's, i.e. the copies inside the facenet-pytorch package).
    """

    skip_reason = "no face found"

    def __init__(self, spec: MetricSpec, device: str = "cpu", weights=None, detector_weights=None,
                 batch_size: int = 16):
        self.spec = spec
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        files = require_csim_weights(weights, detector_weights)      # every missing file named at once
        self.mtcnn = build_mtcnn(files, device=self.device)
        self.resnet = build_inception_resnet(files["facenet"], device=self.device)
        self._sources: OrderedDict[tuple, torch.Tensor | None] = OrderedDict()

    # -------------------------------------------------------------------------------------------- the protocol
    def crop(self, image: np.ndarray) -> torch.Tensor | None:
        """facenet's ``mtcnn(Image)``: the (3, 256, 256) standardised crop of the largest face, or None."""
        from PIL import Image

        with torch.no_grad():
            return self.mtcnn(Image.fromarray(np.ascontiguousarray(image)))

    def embed(self, crops: list[torch.Tensor]) -> torch.Tensor:
        """(M, 512) float32 embeddings of face crops, batched."""
        out = []
        with torch.no_grad():
            for s in range(0, len(crops), self.batch_size):
                batch = torch.stack(crops[s:s + self.batch_size]).to(self.device)
                out.append(self.resnet(batch).float().cpu())
        return torch.cat(out) if out else torch.zeros((0, 512))

    def source_embedding(self, image: np.ndarray) -> torch.Tensor | None:
        """(512,) embedding of a source image (None: no face), remembered for the next frames of the sample."""
        key = _image_key(image)
        if key in self._sources:
            self._sources.move_to_end(key)
            return self._sources[key]
        face = self.crop(image)
        emb = None if face is None else self.embed([face])[0]
        self._sources[key] = emb
        while len(self._sources) > _SOURCE_CACHE_SIZE:
            self._sources.popitem(last=False)
        return emb

    # -------------------------------------------------------------------------------------------- the contract
    def __call__(self, generated, reference=None) -> np.ndarray:
        if reference is None:
            raise MediaError("csim needs the source image(s) as reference (one per generated frame, or one)")
        gen = as_uint8_batch(generated, "csim generated")
        src = as_uint8_batch(reference, "csim source")
        if len(src) not in (1, len(gen)):
            raise MediaError(f"csim: {len(gen)} generated frames but {len(src)} source frames (give 1 or "
                             f"{len(gen)})")
        out = np.full(len(gen), np.nan, dtype=np.float64)
        if not len(gen):
            return out
        sources = [self.source_embedding(src[0 if len(src) == 1 else i]) for i in range(len(gen))]
        rows, crops = [], []
        for i, frame in enumerate(gen):
            if sources[i] is None:                  # no face in the source: the authors' try skips the pair
                continue
            face = self.crop(frame)
            if face is not None:
                rows.append(i)
                crops.append(face)
        if rows:
            emb = self.embed(crops)
            ref = torch.stack([sources[i] for i in rows])
            out[rows] = torch.cosine_similarity(ref, emb).double().numpy()
        return out


def csim(source_images, generated_images, weights=None, detector_weights=None, device: str = "cpu") -> float:
    """DaGAN's CSIM of image pairs: the mean cosine similarity over the pairs with a face on both sides (NaN when
    none has). ``source_images``: one (H,W,3) uint8 RGB image or a batch paired with ``generated_images``."""
    metric = CsimMetric(SPECS["csim"], device=device, weights=weights, detector_weights=detector_weights)
    values = metric(generated_images, source_images)
    return float(np.mean(values[~np.isnan(values)])) if np.any(~np.isnan(values)) else float("nan")
