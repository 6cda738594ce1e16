"""Feature rows <-> 25-fps video frames: the 5-row windows LawDNet reads and the one rule that aligns their count.

Row i of a DeepSpeech feature matrix (dp1 or dp2) describes the audio around video frame i at 25 fps (both start at
t = 0). A video frame i covers [i/25, (i+1)/25) s; the audio covers ``frame_count(n, rate) = n * 25 // rate`` whole
frames. The feature code makes slightly more rows than that: dp1 ``(n16 + 399) // 640`` (one extra row when
``n16 % 640 > 240``), dp2 ``n16 // 640 + 1`` (always one extra row). The authors' "DeepSpeech is always 3 frames
longer than the video" is that +1 plus audio tracks that are longer than their video (AAC priming/padding of
extracted audio, TTS audio); it is fixed by :func:`align_rows` against the video's own frame count, never by
cutting a fixed number of rows.

Order: window first, then align — ``align_rows(audio_windows(feats), n_frames)``. Windowing all rows first keeps
the real rows i+1, i+2 in the windows of the last kept frames, exactly as the authors' inference (which windows all
rows and then keeps ``min(frames, rows)``).
"""
from __future__ import annotations

import numpy as np

#: rows of context per window: rows i-2 .. i+2
WINDOW = 5
FPS = 25


def audio_windows(features: np.ndarray) -> np.ndarray:
    """(T25, 29) -> (T25, 29, 5) float32: edge-pad 2 rows at both ends, ``windows[i] = padded[i:i+5].T``.

    LawDNet's ``audio_processing.extract_deepspeech`` rule: one window per row (video frame). DINet's
    ``inference.py`` loops ``range(5, T25 + 4)`` over its padded rows and so makes one window fewer; the kit
    follows LawDNet.
    """
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[0] == 0:
        raise ValueError(f"audio_windows expects a non-empty (rows, dims) matrix, got shape {features.shape}")
    half = WINDOW // 2
    padded = np.pad(features.astype(np.float32), ((half, half), (0, 0)), mode="edge")
    # sliding_window_view over rows gives (T25, dims, 5) with windows[i, :, k] = padded[i + k]
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(padded, WINDOW, axis=0))


def frame_count(num_samples: int, rate: int) -> int:
    """Number of whole 25-fps video frames ``num_samples`` at ``rate`` Hz cover: ``num_samples * 25 // rate``."""
    if rate <= 0 or num_samples < 0:
        raise ValueError(f"frame_count needs num_samples >= 0 and rate > 0, got {num_samples}, {rate}")
    return num_samples * FPS // rate


def dp1_rows(num_samples_16k: int) -> int:
    """Rows dp1 makes for ``n16 >= 1`` samples at 16 kHz: ``(n16 + 399) // 640`` (measured on the authors' code),
    at least 1 (python_speech_features pads a clip shorter than one 25 ms frame to one frame)."""
    return max(1, (num_samples_16k + 399) // 640) if num_samples_16k > 0 else 0


def dp2_rows(num_samples_16k: int) -> int:
    """Rows dp2 makes for ``n16`` samples at 16 kHz: STFT frames ``1 + n16 // 160`` (centred), conv stride 2,
    every 2nd output -> ``n16 // 640 + 1``."""
    return num_samples_16k // 640 + 1


def align_rows(features: np.ndarray, n_frames: int) -> np.ndarray:
    """The kit's one alignment rule: exactly ``n_frames`` rows along axis 0, row i <-> video frame i.

    Extra rows at the end (audio past the last video frame, the feature code's partial last frame) are cut;
    missing rows (video longer than its audio) repeat the last row, so every video frame keeps a feature row.
    Works on features (T, 29) and on windows (T, 29, 5); apply it to windows (see the module docstring).
    """
    features = np.asarray(features)
    if n_frames < 0:
        raise ValueError(f"n_frames must be >= 0, got {n_frames}")
    if features.shape[0] == 0:
        raise ValueError("align_rows needs at least one feature row")
    if features.shape[0] >= n_frames:
        return features[:n_frames]
    extra = np.repeat(features[-1:], n_frames - features.shape[0], axis=0)
    return np.concatenate([features, extra], axis=0)
