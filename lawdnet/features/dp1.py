"""dp1: DeepSpeech v0.1.0 logits from the frozen TF graph ``output_graph.pb``, 25 rows per second of audio."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lawdnet.features.tf import tensorflow
from talkingface.errors import MediaError, WeightsError

#: MFCC coefficients per 10 ms frame and context frames each side: 19 x 26 = 494 inputs per time step
NUM_CEPSTRUM = 26
NUM_CONTEXT = 9
INPUT_DIM = (2 * NUM_CONTEXT + 1) * NUM_CEPSTRUM
SCOPE = "deepspeech"
TENSORS = ("input_node:0", "input_lengths:0", "logits:0")
#: MFCC frames (10 ms) computed at a time: an even number, so the 50 fps decimation keeps the same frames
MFCC_BLOCK = 6000
#: long audio runs through the graph in windows of CORE input rows (50 per second) with CONTEXT rows each side;
#: up to CORE + 2 CONTEXT rows (60 s) it runs in one pass, as the authors'
CORE, CONTEXT = 2000, 500


def network_input(signal: np.ndarray) -> np.ndarray:
    """(T50, 494) float64 input of the graph for an int16 16 kHz signal, as the authors' ``utils/deep_speech.py``.

    python_speech_features MFCC with its defaults (25 ms frames every 10 ms, 26 filters, nfft 512, preemphasis
    0.97, lifter 22, energy in c0) and 26 coefficients; every 2nd frame (50 per second); 9 zero frames padded each
    side; 19-frame windows flattened to 494; then ONE scalar mean and ONE scalar std (ddof 0) over the whole
    matrix, padding included. A matrix with zero spread raises MediaError (the authors' code would return NaN).
    """
    feats = mfcc_frames(signal)[::2]
    x = _windows(_pad(feats), 0, len(feats))
    std = np.std(x)
    _check_spread(std)
    return (x - np.mean(x)) / std


def _pad(feats: np.ndarray) -> np.ndarray:
    pad = np.zeros((NUM_CONTEXT, NUM_CEPSTRUM), dtype=feats.dtype)
    return np.concatenate((pad, feats, pad))


def _windows(padded: np.ndarray, a: int, b: int) -> np.ndarray:
    """Rows [a, b) of the (T50, 494) windows: padded rows [i, i + 19) flattened frame by frame."""
    windows = np.lib.stride_tricks.sliding_window_view(padded[a:b + 2 * NUM_CONTEXT], 2 * NUM_CONTEXT + 1, axis=0)
    return np.ascontiguousarray(windows.transpose(0, 2, 1)).reshape(b - a, INPUT_DIM)


def _check_spread(std) -> None:
    if not np.isfinite(std) or std == 0:
        raise MediaError("the audio gives constant MFCC windows (std 0): DeepSpeech dp1 features are undefined")


class _StreamedInput:
    """The graph's input rows [a, b) of a long signal read a range at a time: the MFCC (26 numbers per 20 ms, kept)
    from :func:`mfcc_blocks`, the windows built on demand, normalised by the mean and std of the whole matrix
    gathered in two passes of MFCC_BLOCK rows (float64, as np.mean / np.std, summed in another order)."""

    def __init__(self, source):
        self.padded = _pad(np.concatenate([block[::2] for block in mfcc_blocks(source)]))  # MFCC_BLOCK is even
        self.rows = len(self.padded) - 2 * NUM_CONTEXT
        blocks = [(a, min(self.rows, a + MFCC_BLOCK)) for a in range(0, self.rows, MFCC_BLOCK)]
        count = self.rows * INPUT_DIM
        self.mean = sum(float(_windows(self.padded, a, b).sum()) for a, b in blocks) / count
        self.std = np.sqrt(sum(float(np.square(_windows(self.padded, a, b) - self.mean).sum())
                               for a, b in blocks) / count)
        _check_spread(self.std)

    def __call__(self, a: int, b: int) -> np.ndarray:
        return (_windows(self.padded, a, b) - self.mean) / self.std


def mfcc_frames(signal: np.ndarray) -> np.ndarray:
    """``python_speech_features.mfcc(signal, 16000, numcep=26)`` of an int16 signal, computed a block at a time
    (:func:`mfcc_blocks`): the same numbers."""
    from lawdnet.features.samples import ArraySamples

    return np.concatenate(list(mfcc_blocks(ArraySamples(np.asarray(signal)))))


def mfcc_blocks(source) -> Iterator[np.ndarray]:
    """``python_speech_features.mfcc(signal, 16000, numcep=26)`` of a sample source (:mod:`lawdnet.features.samples`)
    in blocks of MFCC_BLOCK frames, the same numbers: each block's samples (whole frames; the last one zero-padded as
    ``framesig`` pads) are pre-emphasised as ``sigproc.preemphasis`` does (with the sample before the block) and go
    through ``mfcc`` with ``preemph=0``. Its temporaries (index tiles, frames, spectra: ~50 bytes per sample) stay
    those of a 60 s block whatever the length."""
    from python_speech_features import mfcc

    frame_len, step = 400, 160
    size = source.size
    total = 1 if size <= frame_len else 1 + int(np.ceil((size - frame_len) / step))
    for f0 in range(0, total, MFCC_BLOCK):
        f1 = min(total, f0 + MFCC_BLOCK)
        end = size if f1 == total else (f1 - 1) * step + frame_len
        sig = source.read(f0 * step - 1, end)       # one sample before the block (a zero before the first)
        pre = sig[1:] - 0.97 * sig[:-1]             # the first sample of the signal is kept as it is: x - 0.97 * 0
        yield mfcc(signal=pre, samplerate=16000, numcep=NUM_CEPSTRUM, preemph=0)


class Dp1Extractor:
    """The DeepSpeech v0.1.0 graph, loaded once: ``Dp1Extractor(graph_path)(int16 16 kHz samples) -> (T25, 29)``.

    The graph is imported into its own ``tf.Graph`` under the name ``deepspeech``, as the authors do; a graph of
    another DeepSpeech release (no ``deepspeech/logits:0``, fixed-size inputs) raises one WeightsError line.
    """

    def __init__(self, graph_path: str | os.PathLike[str], *, graph_bytes: bytes | None = None):
        self.path = Path(graph_path)
        tf = tensorflow()
        graph_def = _read_graph_def(tf, self.path, graph_bytes)
        self.graph = tf.Graph()
        try:
            with self.graph.as_default():
                tf.compat.v1.import_graph_def(graph_def, name=SCOPE)
        except (ValueError, TypeError, tf.errors.OpError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise WeightsError(f"{self.path}: the TensorFlow graph cannot be imported ({first})") from None
        names = [f"{SCOPE}/{name}" for name in TENSORS]
        try:
            self.input_node, self.input_lengths, self.logits = (self.graph.get_tensor_by_name(n) for n in names)
        except KeyError:
            missing = [n for n in names if not _has_tensor(self.graph, n)]
            raise WeightsError(
                f"{self.path}: not the DeepSpeech v0.1.0 graph (no tensor {', '.join(missing)}; later DeepSpeech "
                f"releases have other tensor names and fixed-size inputs): use output_graph.pb of DeepSpeech 0.1.0 "
                f"(deepspeech-0_1_0-b90017e8.pb)"
            ) from None
        self.session = tf.compat.v1.Session(graph=self.graph)

    @classmethod
    def random(cls, seed: int) -> Dp1Extractor:
        """A tiny random graph with v0.1.0's interface (:mod:`lawdnet.features.dp1_random`): RANDOM WEIGHTS."""
        from lawdnet.features.dp1_random import tiny_dp1_graph

        return cls(f"<tiny random dp1 graph, seed {seed}>", graph_bytes=tiny_dp1_graph(seed=seed))

    def __call__(self, signal: np.ndarray) -> np.ndarray:
        """(T25, 29) float32 logits for int16 16 kHz mono samples: ``logits[::2, 0, :]`` (50 -> 25 rows/s)."""
        from lawdnet.features.samples import ArraySamples

        signal = np.asarray(signal)
        if signal.ndim != 1 or signal.dtype != np.int16:
            raise ValueError(f"dp1 expects 1-D int16 16 kHz samples, got {signal.dtype} {signal.shape}")
        return np.concatenate(list(self.rows(ArraySamples(signal))))

    def rows(self, source) -> Iterator[np.ndarray]:
        """The (T25, 29) rows of an int16 sample source (:mod:`lawdnet.features.samples`), block by block.

        Up to 60 s (3000 input rows) the graph runs once over the whole utterance, as the authors'. Longer audio
        runs in windows of CORE rows with CONTEXT rows each side, normalised over the whole utterance; the samples
        are read a block at a time, so memory does not grow with the length (but for the MFCC, 10 kB per second)."""
        if source.size == 0:
            raise MediaError("the audio has 0 samples (0-length audio): DeepSpeech features need sound")
        frames = 1 if source.size <= 400 else 1 + int(np.ceil((source.size - 400) / 160))
        if (frames + 1) // 2 <= CORE + 2 * CONTEXT:
            yield self._rows(self._run(network_input(source.read(0, source.size))))
            return
        x = _StreamedInput(source)
        for start in range(0, x.rows, CORE):         # rows line up 1:1; CORE is even, so [::2] lines up too
            a, b = max(0, start - CONTEXT), min(x.rows, start + CORE + CONTEXT)
            yield self._rows(self._run(x(a, b))[start - a:min(start + CORE, x.rows) - a])

    @staticmethod
    def _rows(logits: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(logits[::2, 0, :], dtype=np.float32)

    def _run(self, x: np.ndarray) -> np.ndarray:
        out = self.session.run(self.logits, feed_dict={self.input_node: x[np.newaxis], self.input_lengths: [len(x)]})
        if out.ndim != 3 or out.shape[1] != 1 or out.shape[0] != len(x):
            raise WeightsError(f"{self.path}: logits have shape {out.shape}, expected ({len(x)}, 1, classes)")
        return out

    def close(self) -> None:
        """Release the TensorFlow session."""
        self.session.close()


def _has_tensor(graph, name: str) -> bool:
    try:
        graph.get_tensor_by_name(name)
    except KeyError:
        return False
    return True


def _read_graph_def(tf, path: Path, data: bytes | None = None):
    if data is None:
        if not path.is_file():
            raise WeightsError(f"DeepSpeech graph missing: {path} (DeepSpeech v0.1.0 output_graph.pb)")
        data = path.read_bytes()
    if not data:
        raise WeightsError(f"{path}: empty file (0 bytes); fetch the DeepSpeech v0.1.0 output_graph.pb again")
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except Exception as exc:  # protobuf's DecodeError has no stable import path across versions
        raise WeightsError(f"{path}: not a TensorFlow GraphDef, truncated or damaged ({type(exc).__name__})") from None
    if not graph_def.node:
        raise WeightsError(f"{path}: a TensorFlow GraphDef without nodes (not output_graph.pb?)")
    return graph_def


def deepspeech_dp1(wav_path: str | os.PathLike[str], graph_path: str | os.PathLike[str]) -> np.ndarray:
    """(T25, 29) float32 dp1 features of any audio file, equal to the authors' ``utils/deep_speech.py``."""
    from lawdnet.features.audio import load_dp1_signal

    signal = load_dp1_signal(wav_path)
    extractor = Dp1Extractor(graph_path)
    try:
        return extractor(signal)
    finally:
        extractor.close()
