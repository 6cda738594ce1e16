"""LSE's offset follows the audio: the same talking clip with its audio shifted by k frames scores offset −k.

Sign (syncnet_python's ``offset = vshift − argmin``, ``distances[j]`` comparing lip window v with audio window
v + j − 15): when the audio is *late* by k frames (delayed: the sound of lip window v is in audio window v + k) the
minimum moves to j = 15 + k and the offset is **−k**; audio *early* by k frames gives **+k**. So a positive offset
means the audio leads the video.

A random SyncNet carries no lip-sync knowledge: its 31 distances depend on the offset only through the zero padding
(the session ``model`` always scores offset 0). Here its last layers (``netfclip[3]``, ``netfcaud[3]``) are fitted so
that on the speech clip, decoded independently of the code under test (ffmpeg's JPEG files read by cv2 as
syncnet_python does, the audio as syncnet_python extracts it, python_speech_features, windows 4v..4v+19), lip window
v and audio window v map to the same random vector t[v] (norm 10) and other windows map far apart. The kit's
pipeline then finds offset 0 on the clip only if it cuts the same windows; a one-frame audio slip in
syncnet/protocol.py moves every offset here by one.
"""
from __future__ import annotations

import copy
import glob
import os
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from talkingface.media import ffmpeg_exe

SAMPLES_PER_FRAME = 640          # 16 kHz / 25 fps


def _ffmpeg(*args) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def independent_windows(clip: Path) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """(lip windows (n,3,5,224,224), MFCC windows (n,1,13,20), 16 kHz int16 audio) the way syncnet_python cuts them."""
    import cv2
    from python_speech_features import mfcc
    from scipy.io import wavfile

    with tempfile.TemporaryDirectory(prefix="offset_") as tmp:
        _ffmpeg("-i", clip, "-threads", "1", "-f", "image2", os.path.join(tmp, "%06d.jpg"))
        images = [cv2.resize(cv2.imread(f), (224, 224)) for f in sorted(glob.glob(os.path.join(tmp, "*.jpg")))]
        _ffmpeg("-i", clip, "-async", "1", "-ac", "1", "-vn", "-acodec", "pcm_s16le", "-ar", "16000",
                os.path.join(tmp, "audio.wav"))
        _, audio = wavfile.read(os.path.join(tmp, "audio.wav"))
    cc = mfcc(audio, 16000).T
    n = min(len(images), len(audio) // SAMPLES_PER_FRAME) - 5
    lips = np.stack([np.stack(images[v:v + 5]) for v in range(n)])                      # (n, 5, H, W, 3) BGR
    lips = torch.from_numpy(lips).permute(0, 4, 1, 2, 3).float()
    mfccs = torch.from_numpy(np.stack([cc[:, 4 * v:4 * v + 20] for v in range(n)])[:, None]).float()
    return lips, mfccs, audio


def fit_last_layers(model, lips: torch.Tensor, mfccs: torch.Tensor, norm: float = 10.0, ridge: float = 1e-3):
    """Set netfclip[3] / netfcaud[3] by ridge regression so that both streams send window v to target t[v]."""
    with torch.no_grad():
        lip_mid = model.netfclip[:3](model.netcnnlip(lips).flatten(1))
        aud_mid = model.netfcaud[:3](model.netcnnaud(mfccs).flatten(1))
        targets = torch.randn(len(lips), 1024, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        targets *= norm / targets.norm(dim=1, keepdim=True)
        for layer, mid in ((model.netfclip[3], lip_mid), (model.netfcaud[3], aud_mid)):
            x = torch.cat([mid.double(), torch.ones(len(mid), 1, dtype=torch.float64)], 1)
            w = torch.linalg.solve(x.T @ x + ridge * torch.eye(x.shape[1], dtype=torch.float64), x.T @ targets)
            layer.weight.copy_(w[:-1].T.float())
            layer.bias.copy_(w[-1].float())
    return model.eval()


@pytest.fixture(scope="module")
def synced(model, speech_clip):
    """(SyncNet fitted to the clip's in-sync windows, the clip's 16 kHz audio)."""
    lips, mfccs, audio = independent_windows(speech_clip)
    return fit_last_layers(copy.deepcopy(model), lips, mfccs), audio


@pytest.fixture(scope="module")
def in_sync(synced, speech_clip):
    from syncnet.evaluate import evaluate_video

    return evaluate_video(speech_clip, synced[0])


def shifted_clip(clip: Path, audio: np.ndarray, k: int, folder: Path) -> Path:
    """``clip``'s video stream (copied: the same frames) with its audio delayed (k > 0: silence in front, the end
    cut) or advanced (k < 0: the start cut, silence at the end) by |k| frames = 640·|k| samples."""
    pad = np.zeros(SAMPLES_PER_FRAME * abs(k), np.int16)
    samples = np.concatenate([pad, audio])[:len(audio)] if k > 0 else np.concatenate([audio[len(pad):], pad])
    wav, out = folder / f"shift{k}.wav", folder / f"shift{k}.mp4"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.astype("<i2").tobytes())
    _ffmpeg("-i", clip, "-i", wav, "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", out)
    return out


def _dip(distances: np.ndarray) -> int:
    """Index of the minimum, checked to be one clear dip (far below every other offset)."""
    j = int(np.argmin(distances))
    others = np.delete(distances, j)
    assert distances[j] < 0.25 * np.median(distances) and distances[j] < 0.25 * others.min(), distances
    return j


@pytest.mark.slow
def test_in_sync_clip_scores_offset_zero(in_sync):
    assert in_sync.offset == 0
    assert _dip(in_sync.distances) == 15


@pytest.mark.slow
@pytest.mark.parametrize("k", [1, 2, -1, -2])
def test_offset_moves_by_exactly_k(synced, in_sync, speech_clip, tmp_path, k):
    from syncnet.evaluate import evaluate_video

    model, audio = synced
    result = evaluate_video(shifted_clip(speech_clip, audio, k, tmp_path), model)
    assert result.offset == -k                      # audio late by k frames -> offset -k (module docstring)
    assert _dip(result.distances) == 15 + k
    # the whole curve moved by k positions: away from the dip each distance is the in-sync one k places before
    base, moved = in_sync.distances, result.distances
    j = np.arange(max(0, k), 31 + min(0, k))
    keep = j != 15 + k
    np.testing.assert_allclose(moved[j[keep]], base[j[keep] - k], atol=0.1 * np.median(base))


@pytest.mark.slow
def test_container_delay_moves_the_offset(synced, speech_clip, tmp_path):
    """A delay in the container (the audio stream starting 80 ms late, ffmpeg ``-itsoffset``), not in the samples,
    counts the same: syncnet_python's ``-async 1`` extraction pads the start."""
    from syncnet.evaluate import evaluate_video

    model, audio = synced
    wav = shifted_clip(speech_clip, audio, 0, tmp_path).with_suffix(".wav")
    out = tmp_path / "itsoffset.mp4"
    _ffmpeg("-i", speech_clip, "-itsoffset", "0.08", "-i", wav, "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy",
            "-c:a", "aac", out)
    assert evaluate_video(out, model).offset == -2
