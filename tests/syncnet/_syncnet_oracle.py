"""The test oracle (tests only, not shipped): syncnet_python's ``SyncNetInstance.evaluate`` as the plain loop it is.

Kept on purpose slow, literal and independent of the code under test: nothing is imported from ``syncnet.*`` (no
constants, no audio or frame reading; the network is whatever model the caller passes, and
tests/syncnet/test_syncnet_golden.py pins the kit's network to syncnet_python's own run). As syncnet_python does, it
runs ffmpeg itself (frames written as JPEG files and read back with ``cv2.imread``, the audio written as a 16 kHz
wav and read with ``scipy.io.wavfile``), holds the whole clip as one float tensor, cuts windows in a Python loop in
batches of 20, runs the 3-D-convolution forward and one ``pairwise_distance`` per frame. Only the ffmpeg binary is
the kit's pinned one (the protocol depends on the ffmpeg version). Not for users: it holds the whole video in memory.
"""
from __future__ import annotations

import dataclasses
import glob
import math
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

from talkingface.errors import MediaError

VSHIFT = 15            # demo_syncnet.py's --vshift default


@dataclasses.dataclass
class OracleResult:
    """What evaluate computes: ``distances[j]`` is the mean distance at offset 15 - j; ``window_distances`` (windows,
    31) the per-window distances it returns (``dists_npy``)."""

    lse_d: float
    lse_c: float
    offset: int
    distances: np.ndarray
    frames: int
    video_frames: int
    audio_frames: int
    window_distances: np.ndarray


def _ffmpeg(args: list[str], what: str) -> None:
    from talkingface.media import ffmpeg_exe

    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *args], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise MediaError(f"{what}: ffmpeg failed ({proc.stderr.strip().splitlines()[-1:]})")


def read_audio_wav(videofile: str | Path, tmp: str) -> np.ndarray:
    """syncnet_python's audio: ``ffmpeg -y -i VIDEO -async 1 -ac 1 -vn -acodec pcm_s16le -ar 16000 audio.wav``."""
    from scipy.io import wavfile

    wav = os.path.join(tmp, "audio.wav")
    _ffmpeg(["-y", "-i", str(videofile), "-async", "1", "-ac", "1", "-vn", "-acodec", "pcm_s16le", "-ar", "16000",
             wav], f"{videofile}: cannot extract the audio")
    _, audio = wavfile.read(wav)
    return audio


def calc_pdist(feat1: torch.Tensor, feat2: torch.Tensor, vshift: int = VSHIFT) -> list[torch.Tensor]:
    """syncnet_python's calc_pdist: for each frame the distances to the vshift-padded audio features."""
    win_size = vshift * 2 + 1
    feat2p = torch.nn.functional.pad(feat2, (0, 0, vshift, vshift))
    return [torch.nn.functional.pairwise_distance(feat1[[i], :].repeat(win_size, 1), feat2p[i:i + win_size, :])
            for i in range(len(feat1))]


def oracle_evaluate(model, videofile: str | Path, resize: bool = True, batch_size: int = 20,
                    vshift: int = VSHIFT, device: str = "cpu") -> OracleResult:
    """LSE of ``videofile`` exactly as syncnet_python computes it (``resize``: Wav2Lip's cv2.resize to 224)."""
    import cv2
    from python_speech_features import mfcc as psf_mfcc

    model.eval()
    with tempfile.TemporaryDirectory(prefix="syncnet_oracle_") as tmp:
        _ffmpeg(["-y", "-i", str(videofile), "-threads", "1", "-f", "image2", os.path.join(tmp, "%06d.jpg")],
                f"{videofile}: cannot extract frames")
        audio = read_audio_wav(videofile, tmp)
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
    return OracleResult(lse_d=float(minval), lse_c=float(conf), offset=offset, distances=mdist.double().numpy(),
                        frames=lastframe, video_frames=len(images), audio_frames=len(audio) // 640,
                        window_distances=np.stack([d.numpy() for d in dists]))
