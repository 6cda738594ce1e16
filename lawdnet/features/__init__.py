"""LawDNet audio features: dp1 (DeepSpeech v0.1.0 TF graph) and dp2 (deepspeech.pytorch), 25 rows/s, 29 logits.

    from lawdnet.features import deepspeech_dp1, deepspeech_dp2, audio_windows, align_rows
    feats = deepspeech_dp2("speech.m4a", "LibriSpeech_Pretrained_v3.ckpt")     # (T25, 29) float32
    windows = align_rows(audio_windows(feats), n_video_frames)                # (frames, 29, 5)

Pipelines that extract many clips load the model once: ``Dp1Extractor(graph)`` / ``Dp2Extractor(ckpt, device)``,
called on the 16 kHz signal of ``load_dp1_signal(path)`` / ``load_dp2_signal(path)``. docs/lawdnet_features.md
writes the protocol down. TensorFlow (dp1 only) is imported when a Dp1Extractor is made.
"""
from __future__ import annotations

from lawdnet.features.audio import dp1_signal, dp2_signal, load_dp1_signal, load_dp2_signal, read_pcm
from lawdnet.features.dp1 import Dp1Extractor, deepspeech_dp1
from lawdnet.features.dp2 import Dp2Extractor, deepspeech_dp2, spectrogram
from lawdnet.features.windows import align_rows, audio_windows, dp1_rows, dp2_rows, frame_count

__all__ = ["Dp1Extractor", "Dp2Extractor", "align_rows", "audio_windows", "deepspeech_dp1", "deepspeech_dp2",
           "dp1_rows", "dp1_signal", "dp2_rows", "dp2_signal", "frame_count", "load_dp1_signal", "load_dp2_signal",
           "read_pcm", "spectrogram"]
