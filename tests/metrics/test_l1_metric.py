"""L1 (FOMM reconstruction.py): per frame mean |prediction - driving| of RGB images as float [0, 1], checked against
the authors' expression written as they do (float32 torch tensors / 255, ``torch.abs(a - b).mean()``) on real photos
with realistic perturbations; on 0..255 values or grayscale the number would differ."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from skimage.data import astronaut

from talkingface.errors import KitError, MediaError
from talkingface.metrics import create_metric, l1


def _fomm(gen: np.ndarray, ref: np.ndarray) -> list[float]:
    """reconstruction.py: ``torch.abs(out['prediction'] - x['driving']).mean()`` per frame, images float32 / 255."""
    out = []
    for g, r in zip(gen, ref, strict=True):
        prediction = torch.from_numpy(g.transpose(2, 0, 1)[None].astype(np.float32) / 255)
        driving = torch.from_numpy(r.transpose(2, 0, 1)[None].astype(np.float32) / 255)
        out.append(float(torch.abs(prediction - driving).mean().cpu().numpy()))
    return out


def _perturbed(img: np.ndarray) -> np.ndarray:
    """JPEG q=60 round trip, Gaussian blur, brightness +9, a 2-px shift: what generated frames look like."""
    jpeg = cv2.imdecode(cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 60])[1], cv2.IMREAD_COLOR)
    return np.stack([jpeg[..., ::-1], cv2.GaussianBlur(img, (5, 5), 1.2),
                     np.clip(img.astype(np.int16) + 9, 0, 255).astype(np.uint8),
                     np.roll(img, (2, -2), axis=(0, 1))])


def test_equals_fomm_expression_on_real_photos(shared_fixtures):
    photos = [astronaut()[:256, 96:352], astronaut()]
    src = None if shared_fixtures is None else Path(shared_fixtures) / "dagan" / "src.png"
    if src is not None and src.exists():
        photos.append(cv2.imread(str(src), cv2.IMREAD_COLOR)[..., ::-1].copy())
    metric = create_metric("l1")
    for photo in photos:
        gen = _perturbed(photo)
        ref = np.repeat(photo[None], len(gen), axis=0)
        values = metric(gen, ref)
        assert values.dtype == np.float64 and values.shape == (len(gen),)
        np.testing.assert_allclose(values, _fomm(gen, ref), rtol=1e-6)
        assert (values > 0.002).all() and (values < 0.2).all()
        assert l1(gen[0], photo) == pytest.approx(values[0], rel=1e-12)


def test_protocol_slips_give_other_numbers():
    photo = astronaut()[:256, 96:352]
    gen = _perturbed(photo)[1]
    value = l1(gen, photo)
    on_255 = float(np.abs(gen.astype(np.float32) - photo.astype(np.float32)).mean())
    grey = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255 for x in (gen, photo)]
    on_grey = float(np.abs(grey[0] - grey[1]).mean())
    assert not np.isclose(on_255, value, rtol=1e-3)
    assert not np.isclose(on_grey, value, rtol=1e-3)


def test_identical_frames_and_errors():
    photo = astronaut()[:64, :64]
    assert l1(photo, photo) == 0.0
    metric = create_metric("l1")
    with pytest.raises(MediaError):
        metric(photo[None], astronaut()[:32, :32][None])
    with pytest.raises(KitError):
        metric(photo[None])
    with pytest.raises(MediaError):
        metric(photo[None].astype(np.float32), photo[None])
