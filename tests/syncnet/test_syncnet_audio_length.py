"""Audio that ends part-way through a video frame: the windows scored are syncnet_python's, floor(samples / 640) - 5.

The other tests' clips have audio of a whole number of frames (or longer than the video), so rounding the audio's
frame count instead of flooring it would go unseen. Here the audio is PCM (no AAC priming or padding) and stops
0.75 frame into frame 10 of a 25-frame video, with noise, then 0.5 frame into frame 12: syncnet_python (the test
oracle, tests/syncnet/_syncnet_oracle.py) scores 5 and 7 windows; the kit must cut the same windows and distances.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from _syncnet_helpers import ffmpeg, noise_wav
from _syncnet_oracle import oracle_evaluate

import syncnet


@pytest.mark.parametrize("frames_of_audio", [10.75, 12.5])
def test_audio_ending_inside_a_frame_scores_the_oracles_windows(tmp_path, model, frames_of_audio):
    from scipy.io import wavfile

    samples = round(frames_of_audio * 640)
    wav = noise_wav(tmp_path / "audio.wav", samples / 16000, seed=3)
    assert wavfile.read(wav)[1].shape == (samples,)
    clip = tmp_path / "clip.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=224x224:rate=25:duration=1", "-i", wav, "-map", "0:v:0", "-map",
           "1:a:0", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", clip)
    ours = syncnet.evaluate_video(clip, model)
    oracle = oracle_evaluate(model, clip)
    assert oracle.audio_frames == math.floor(frames_of_audio)            # the PCM track kept its length
    assert oracle.frames == math.floor(frames_of_audio) - 5
    assert (ours.frames, ours.offset) == (oracle.frames, oracle.offset)
    np.testing.assert_allclose(ours.distances, oracle.distances, rtol=1e-5)
    assert abs(ours.lse_d - oracle.lse_d) < 1e-4 and abs(ours.lse_c - oracle.lse_c) < 1e-4
