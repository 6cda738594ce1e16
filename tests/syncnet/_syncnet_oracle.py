"""The test oracle (kept in tests/, not shipped): syncnet_python's ``SyncNetInstance.evaluate`` written as the straightforward loop it is.

Kept on purpose slow and literal (frames written as JPEG files and read back with ``cv2.imread``, the whole clip
held as one float tensor, windows cut in a Python loop in batches of 20, the 3-D-convolution forward, one
``pairwise_distance`` per frame), so that the fast path in :mod:`syncnet.protocol` is checked against the protocol
itself. Not for users: it holds the whole video in memory.
"""
from __future__ import annotations

import glob
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from syncnet.protocol import VSHIFT, SyncNetResult, read_audio_16k
from talkingface.errors import MediaError


def calc_pdist(feat1: torch.Tensor, feat2: torch.Tensor, vshift: int = VSHIFT) -> list[torch.Tensor]:
    """syncnet_python's calc_pdist: for each frame the distances to the vshift-padded audio features."""
    win_size = vshift * 2 + 1
    feat2p = torch.nn.functional.pad(feat2, (0, 0, vshift, vshift))
    return [torch.nn.functional.pairwise_distance(feat1[[i], :].repeat(win_size, 1), feat2p[i:i + win_size, :])
            for i in range(len(feat1))]


def oracle_evaluate(model, videofile: str | Path, resize: bool = True, batch_size: int = 20,
                    vshift: int = VSHIFT, device: str = "cpu") -> SyncNetResult:
    """LSE of ``videofile`` exactly as syncnet_python computes it (``resize``: Wav2Lip's cv2.resize to 224)."""
    import cv2
    from python_speech_features import mfcc as psf_mfcc

    from talkingface.media.ffmpeg import run_ffmpeg

    model.eval()
    with tempfile.TemporaryDirectory(prefix="syncnet_oracle_") as tmp:
        run_ffmpeg(["-y", "-i", str(videofile), "-threads", "1", "-f", "image2", os.path.join(tmp, "%06d.jpg")],
                   f"{videofile}: cannot extract frames")
        audio = read_audio_16k(videofile)
        images = []
        for fname in sorted(glob.glob(os.path.join(tmp, "*.jpg"))):
            img = cv2.imread(fname)
            images.append(cv2.resize(img, (224, 224)) if resize else img)
    if not images:
        raise MediaError(f"{videofile}: no frames")
    im = np.stack(images, axis=3)
    im = np.expand_dims(im, axis=0)
    im = np.transpose(im, (0, 3, 4, 1, 2))
    imtv = torch.from_numpy(im.astype(float)).float()

    mfcc = np.stack([np.array(i) for i in zip(*psf_mfcc(audio, 16000), strict=True)])
    cc = np.expand_dims(np.expand_dims(mfcc, axis=0), axis=0)
    cct = torch.from_numpy(cc.astype(float)).float()

    min_length = min(len(images), math.floor(len(audio) / 640))
    lastframe = min_length - 5
    if lastframe < 1:
        raise MediaError(f"{videofile}: too short to score ({min_length} frames with audio, need 6)")
    im_feat, cc_feat = [], []
    with torch.no_grad():
        for i in range(0, lastframe, batch_size):
            im_batch = [imtv[:, :, vframe:vframe + 5, :, :] for vframe in range(i, min(lastframe, i + batch_size))]
            im_feat.append(model.forward_lip(torch.cat(im_batch, 0).to(device)).cpu())
            cc_batch = [cct[:, :, :, vframe * 4:vframe * 4 + 20] for vframe in range(i, min(lastframe, i + batch_size))]
            cc_feat.append(model.forward_aud(torch.cat(cc_batch, 0).to(device)).cpu())
    im_feat = torch.cat(im_feat, 0)
    cc_feat = torch.cat(cc_feat, 0)

    dists = calc_pdist(im_feat, cc_feat, vshift=vshift)
    mdist = torch.mean(torch.stack(dists, 1), 1)
    minval, minidx = torch.min(mdist, 0)
    offset = vshift - int(minidx)
    conf = torch.median(mdist) - minval
    return SyncNetResult(lse_d=float(minval), lse_c=float(conf), offset=offset,
                         distances=mdist.double().numpy(), frames=lastframe, video_frames=len(images),
                         audio_frames=len(audio) // 640)
