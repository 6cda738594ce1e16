"""S3FD face detector as syncnet_python uses it (``detectors/s3fd``), loadable strictly from ``sfd_face.pth``.

Module names and indices (``vgg.N``, ``L2Norm3_3``…, ``extras.N``, ``loc.N``, ``conf.N``) are those of
syncnet_python's ``S3FDNet``, so the released state dict loads with every key checked. :func:`detect_faces` is its
``S3FD.detect_faces``: resize by each scale (bilinear), subtract the BGR mean (104, 117, 123), run the net, decode
the prior boxes (variances 0.1/0.2), per-image NMS (IoU 0.3, top 5000, at most 750 kept), keep scores > conf_th,
then NMS 0.1 over all scales. Boxes are in pixels of the given image: (N, 5) = x1, y1, x2, y2, score.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from talkingface.errors import WeightsError

BGR_MEAN = (104.0, 117.0, 123.0)
MIN_SIZES = (16, 32, 64, 128, 256, 512)
STEPS = (4, 8, 16, 32, 64, 128)
VARIANCES = (0.1, 0.2)


class L2Norm(nn.Module):
    def __init__(self, n_channels: int, scale: float):
        super().__init__()
        self.eps = 1e-10
        self.weight = nn.Parameter(torch.full((n_channels,), float(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = x.pow(2).sum(dim=1, keepdim=True).sqrt() + self.eps
        return self.weight.view(1, -1, 1, 1) * (x / norm)


def _vgg() -> nn.ModuleList:
    layers: list[nn.Module] = []
    cin = 3
    for block, (cout, n) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]):
        for _ in range(n):
            layers += [nn.Conv2d(cin, cout, 3, 1, padding=1), nn.ReLU(inplace=True)]
            cin = cout
        layers.append(nn.MaxPool2d(2, 2, ceil_mode=(block == 2)))
    layers += [nn.Conv2d(512, 1024, 3, 1, padding=6, dilation=6), nn.ReLU(inplace=True),
               nn.Conv2d(1024, 1024, 1, 1), nn.ReLU(inplace=True)]
    return nn.ModuleList(layers)


class S3FDNet(nn.Module):
    """syncnet_python's S3FDNet; :meth:`forward` returns (loc (B,P,4), softmax scores (B,P,2), priors (P,4))."""

    def __init__(self):
        super().__init__()
        self.vgg = _vgg()
        self.L2Norm3_3 = L2Norm(256, 10)
        self.L2Norm4_3 = L2Norm(512, 8)
        self.L2Norm5_3 = L2Norm(512, 5)
        self.extras = nn.ModuleList([nn.Conv2d(1024, 256, 1, 1), nn.Conv2d(256, 512, 3, 2, padding=1),
                                     nn.Conv2d(512, 128, 1, 1), nn.Conv2d(128, 256, 3, 2, padding=1)])
        chans = (256, 512, 512, 1024, 512, 256)
        self.loc = nn.ModuleList([nn.Conv2d(c, 4, 3, 1, padding=1) for c in chans])
        self.conf = nn.ModuleList([nn.Conv2d(c, 4 if i == 0 else 2, 3, 1, padding=1) for i, c in enumerate(chans)])

    def forward(self, x: torch.Tensor):
        size = x.shape[2:]
        sources = []
        for k in range(16):
            x = self.vgg[k](x)
        sources.append(self.L2Norm3_3(x))
        for k in range(16, 23):
            x = self.vgg[k](x)
        sources.append(self.L2Norm4_3(x))
        for k in range(23, 30):
            x = self.vgg[k](x)
        sources.append(self.L2Norm5_3(x))
        for k in range(30, len(self.vgg)):
            x = self.vgg[k](x)
        sources.append(x)
        for k, layer in enumerate(self.extras):
            x = F.relu(layer(x), inplace=True)
            if k % 2 == 1:
                sources.append(x)
        locs, confs, fmaps = [], [], []
        for i, src in enumerate(sources):
            conf = self.conf[i](src)
            if i == 0:  # max-out background label over the first 3 channels
                conf = torch.cat([conf[:, 0:3].max(dim=1, keepdim=True)[0], conf[:, 3:]], dim=1)
            loc = self.loc[i](src)
            fmaps.append(loc.shape[2:])
            locs.append(loc.permute(0, 2, 3, 1).reshape(x.shape[0], -1, 4))
            confs.append(conf.permute(0, 2, 3, 1).reshape(x.shape[0], -1, 2))
        priors = prior_boxes(tuple(size), fmaps).to(x.device)
        return torch.cat(locs, 1), torch.softmax(torch.cat(confs, 1), dim=-1), priors


def prior_boxes(size: tuple[int, int], feature_maps) -> torch.Tensor:
    """PriorBox of syncnet_python: (cx, cy, w, h) normalised, feature maps in order, rows then columns."""
    imh, imw = int(size[0]), int(size[1])
    out = []
    for k, (fh, fw) in enumerate(feature_maps):
        i, j = np.meshgrid(np.arange(int(fh)), np.arange(int(fw)), indexing="ij")
        cx = (j + 0.5) / (imw / STEPS[k])
        cy = (i + 0.5) / (imh / STEPS[k])
        wh = np.broadcast_to([MIN_SIZES[k] / imw, MIN_SIZES[k] / imh], cx.shape + (2,))
        out.append(np.concatenate([cx[..., None], cy[..., None], wh], -1).reshape(-1, 4))
    return torch.from_numpy(np.concatenate(out).astype(np.float32))


def decode(loc: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
    boxes = torch.cat((priors[:, :2] + loc[:, :2] * VARIANCES[0] * priors[:, 2:],
                       priors[:, 2:] * torch.exp(loc[:, 2:] * VARIANCES[1])), 1)
    boxes[:, :2] -= boxes[:, 2:] / 2
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def nms(boxes: np.ndarray, scores: np.ndarray, thresh: float) -> list[int]:
    """Greedy NMS by descending score; a box is dropped when its IoU with a kept box exceeds ``thresh``."""
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        w = np.maximum(0.0, np.minimum(x2[i], x2[order[1:]]) - np.maximum(x1[i], x1[order[1:]]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[order[1:]]) - np.maximum(y1[i], y1[order[1:]]))
        inter = w * h
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[np.where(ovr <= thresh)[0] + 1]
    return keep


def detect_faces(net: S3FDNet, image_rgb: np.ndarray, conf_th: float = 0.9, scales=(0.25,),
                 device="cpu") -> np.ndarray:
    """syncnet_python's ``S3FD.detect_faces`` on one RGB uint8 image: (N, 5) boxes x1, y1, x2, y2, score."""
    return detect_faces_batch(net, [image_rgb], conf_th, scales, device)[0]


def detect_faces_batch(net: S3FDNet, images_rgb, conf_th: float = 0.9, scales=(0.25,), device="cpu") -> list:
    """:func:`detect_faces` for several same-size images in one forward pass per scale (the weights are read once
    per batch instead of once per image). Returns one (N, 5) array per image."""
    import cv2

    if not len(images_rgb):
        return []
    h, w = images_rgb[0].shape[:2]
    found: list[list] = [[] for _ in images_rgb]
    mean = np.array(BGR_MEAN[::-1], np.float32)
    with torch.inference_mode():
        for s in scales:
            batch = np.stack([cv2.resize(im, dsize=(0, 0), fx=s, fy=s, interpolation=cv2.INTER_LINEAR)
                              for im in images_rgb]).astype(np.float32) - mean
            x = torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2))).to(device)
            loc, conf, priors = net(x)
            for b in range(len(images_rgb)):
                boxes = decode(loc[b], priors).cpu().numpy()
                scores = conf[b, :, 1].cpu().numpy()
                # boxes at or below conf_th are never reported and cannot suppress higher-scored ones (greedy NMS)
                idx = np.where(scores > conf_th)[0]
                idx = idx[np.argsort(-scores[idx], kind="stable")][:5000]
                keep = [idx[k] for k in nms(boxes[idx], scores[idx], 0.3)][:750]
                for k in keep:
                    found[b].append([*(boxes[k] * np.array([w, h, w, h], np.float32)), scores[k]])
    out = []
    for rows in found:
        if not rows:
            out.append(np.empty((0, 5)))
            continue
        bboxes = np.array(rows, dtype=np.float64)
        out.append(bboxes[nms(bboxes[:, :4], bboxes[:, 4], 0.1)])
    return out


def load_s3fd(path: str | Path, device="cpu") -> S3FDNet:
    """Load ``sfd_face.pth`` (plain state dict of S3FDNet) strictly; wrong files raise one WeightsError."""
    from talkingface.weights import load_state_dict_file, load_state_strict

    state = load_state_dict_file(path, "S3FD state dict (sfd_face.pth format)")
    net = S3FDNet()
    load_state_strict(net, state, path, "the S3FD sfd_face.pth state dict")
    return net.to(device).eval()


class HaarDetector:
    """Offline stand-in for S3FD (OpenCV's bundled frontal-face Haar cascade); results are not reference numbers."""

    def __init__(self):
        import cv2

        self.cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        if self.cascade.empty():
            raise WeightsError("OpenCV's Haar cascade haarcascade_frontalface_default.xml is missing from cv2.data")

    def __call__(self, images_rgb) -> list:
        return [self.detect(im) for im in images_rgb]

    def detect(self, image_rgb: np.ndarray) -> np.ndarray:
        import cv2

        gray = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
        rects = self.cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
        if len(rects) == 0:
            return np.empty((0, 5))
        r = np.asarray(rects, dtype=np.float64)
        return np.stack([r[:, 0], r[:, 1], r[:, 0] + r[:, 2], r[:, 1] + r[:, 3], np.ones(len(r))], 1)
