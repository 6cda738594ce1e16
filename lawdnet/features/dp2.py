"""dp2: deepspeech.pytorch (LibriSpeech_Pretrained_v3.ckpt) logits before softmax, 25 rows per second of audio."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from talkingface.errors import MediaError, WeightsError

#: STFT frames transformed at a time (the result is the same; only the temporaries' size depends on it)
STFT_BLOCK = 4096
#: long audio runs through the network in windows of CORE spectrogram frames (100 per second) with CONTEXT frames
#: of audio on each side; audio up to CORE + 2 CONTEXT frames (60 s) runs in one pass, as the authors'
CORE, CONTEXT = 4000, 1000          # CORE a multiple of 4: each window's rows start at an even 50 fps row

#: keys of torchmetrics counters (WER/CER) that some Lightning versions stored with the weights; not network state
_METRIC_PREFIXES = ("wer.", "cer.")


def _window(name: str, length: int) -> np.ndarray:
    """librosa's ``get_window(name, length, fftbins=True)``: the periodic (DFT-even) window, float64."""
    from scipy.signal import get_window

    return get_window(name, length, fftbins=True).astype(np.float64)


def spectrogram(signal: np.ndarray, sample_rate: int = 16000, window_size: float = 0.02,
                window_stride: float = 0.01, window: str = "hamming", pad_mode: str = "constant") -> torch.Tensor:
    """(F, T) float32 normalised log spectrogram of deepspeech.pytorch's ``AudioParser.compute_spectrogram``.

    ``librosa.stft(y, n_fft, hop, win_length=n_fft, window)`` with librosa's defaults ``center=True`` and
    ``pad_mode="constant"`` (librosa >= 0.10; 0.9 and older padded with ``"reflect"``): n_fft // 2 samples of
    padding each side, frames every hop, periodic window, rfft in float64 stored as complex64 (float32 input);
    magnitude; ``log1p``; then ONE mean and ONE std (torch's unbiased std) over the whole matrix. A matrix with zero
    spread (a silent clip) raises MediaError: the authors' code returns NaN there.
    """
    y = np.asarray(signal, dtype=np.float32)
    n_fft, hop = int(sample_rate * window_size), int(sample_rate * window_stride)
    padded = np.pad(y, (n_fft // 2, n_fft // 2), mode=pad_mode)
    if padded.size < n_fft:
        raise MediaError(f"the audio is too short for one {n_fft}-sample STFT frame ({y.size} samples)")
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]  # (T, n_fft) view, float32
    spect = torch.from_numpy(_log_magnitude(frames, _window(window, n_fft)))
    mean, std = spect.mean(), spect.std()
    _check_spread(std)
    return (spect - mean) / std


def _log_magnitude(frames: np.ndarray, win: np.ndarray) -> np.ndarray:
    """(F, T) float32 ``log1p(|rfft(frame * window)|)`` of (T, n_fft) frames, STFT_BLOCK frames at a time (the
    float64/complex temporaries stay bounded; every frame's numbers are its own, whatever the block)."""
    mag = np.empty((win.size // 2 + 1, frames.shape[0]), np.float32)
    for a in range(0, frames.shape[0], STFT_BLOCK):
        spec = np.fft.rfft(frames[a:a + STFT_BLOCK] * win, axis=1).astype(np.complex64)
        mag[:, a:a + STFT_BLOCK] = np.log1p(np.abs(spec)).T
    return mag


def _check_spread(std) -> None:
    if not np.isfinite(float(std)) or float(std) == 0:
        raise MediaError("the audio is silent (its spectrogram is constant, std 0): dp2 DeepSpeech features are "
                         "undefined (the authors' code returns NaN); give audio with sound")


class _StreamedSpectrogram:
    """The spectrogram of samples read a range at a time (:mod:`lawdnet.features.samples`): frames [a, b) on
    demand, normalised by the mean and unbiased std of the whole matrix, gathered in a first pass block by block
    (float64, combined as Chan et al.; rounded to float32 as torch's statistics of the float32 matrix are)."""

    def __init__(self, source, sample_rate: int, window_size: float, window_stride: float, window: str):
        self.source = source
        self.n_fft, self.hop = int(sample_rate * window_size), int(sample_rate * window_stride)
        self.win = _window(window, self.n_fft)
        self.frames = 1 + (source.size + 2 * (self.n_fft // 2) - self.n_fft) // self.hop
        if self.frames < 1:
            raise MediaError(f"the audio is too short for one {self.n_fft}-sample STFT frame ({source.size} samples)")
        count, mean, m2 = 0, 0.0, 0.0
        for a in range(0, self.frames, STFT_BLOCK):
            block = self._raw(a, min(self.frames, a + STFT_BLOCK)).astype(np.float64)
            n, bmean = block.size, float(block.mean())
            bm2 = float(np.square(block - bmean).sum())
            delta, total = bmean - mean, count + n
            mean, m2, count = mean + delta * n / total, m2 + bm2 + delta * delta * count * n / total, total
        std = np.sqrt(m2 / (count - 1)) if count > 1 else float("nan")
        _check_spread(std)
        self.mean, self.std = torch.tensor(np.float32(mean)), torch.tensor(np.float32(std))

    def _raw(self, a: int, b: int) -> np.ndarray:
        start = a * self.hop - self.n_fft // 2
        y = np.asarray(self.source.read(start, (b - 1) * self.hop + self.n_fft - self.n_fft // 2), np.float32)
        return _log_magnitude(np.lib.stride_tricks.sliding_window_view(y, self.n_fft)[::self.hop], self.win)

    def __call__(self, a: int, b: int) -> torch.Tensor:
        """(F, b - a) normalised frames [a, b)."""
        return (torch.from_numpy(self._raw(a, b)) - self.mean) / self.std


class Dp2Extractor:
    """deepspeech.pytorch's DeepSpeech from a Lightning ``.ckpt``, loaded once and safely (no pickled code runs):
    ``Dp2Extractor(checkpoint, device)(16 kHz mono samples) -> (T25, 29)``.

    fp32 by default (the kit's reference numbers); ``autocast=True`` on CUDA runs the authors' fp16 autocast
    (their ``precision=16``), whose logits differ from fp32 at fp16 rounding level.
    """

    def __init__(self, checkpoint: str | os.PathLike[str], device: str | torch.device = "cpu", *,
                 autocast: bool = False):
        from lawdnet.features.dp2_model import DeepSpeech2, config_from_checkpoint, read_checkpoint

        self.path = Path(checkpoint)
        ckpt = read_checkpoint(self.path)
        self.config = config_from_checkpoint(ckpt, self.path)
        state = ckpt["state_dict"]
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise WeightsError(f"{self.path}: state_dict is not a dict of tensors")
        state = {k: v for k, v in state.items() if not k.startswith(_METRIC_PREFIXES)}
        model = DeepSpeech2(self.config)
        from talkingface.weights.loading import load_state_strict

        load_state_strict(model, state, self.path, "the deepspeech.pytorch state_dict")
        self.device = torch.device(device)
        self.autocast = bool(autocast) and self.device.type == "cuda"
        self.model = model.float().eval().to(self.device)

    @classmethod
    def from_model(cls, model, config, device: str | torch.device = "cpu") -> Dp2Extractor:
        """An extractor around a built :class:`~lawdnet.features.dp2_model.DeepSpeech2` (random weights for smoke
        runs, a network in training) instead of a checkpoint file."""
        self = cls.__new__(cls)
        self.path, self.config = Path("<in memory>"), config
        self.device = torch.device(device)
        self.autocast = False
        self.model = model.float().eval().to(self.device)
        return self

    def logits(self, signal: np.ndarray) -> torch.Tensor:
        """(T50, classes) float32 logits before softmax at 50 rows/s (the conv stack's time stride 2) of float32
        16 kHz samples; see :meth:`logit_blocks`."""
        from lawdnet.features.samples import ArraySamples

        return torch.cat(list(self.logit_blocks(ArraySamples(np.asarray(signal, dtype=np.float32)))))

    def logit_blocks(self, source) -> Iterator[torch.Tensor]:
        """The logits of a sample source (:mod:`lawdnet.features.samples`) in consecutive blocks of rows, each
        starting at an even row.

        Up to 60 s of audio: one pass over the whole utterance, as the authors. Longer audio: 40 s windows with 10 s
        of audio context on each side, normalised over the whole utterance (gathered in a first pass), the samples
        read a window at a time: memory does not grow with the audio's length. docs/lawdnet_features.md gives the
        measured difference."""
        cfg = self.config
        n_fft, hop = int(cfg.sample_rate * cfg.window_size), int(cfg.sample_rate * cfg.window_stride)
        total = 1 + (source.size + 2 * (n_fft // 2) - n_fft) // hop
        if total <= CORE + 2 * CONTEXT:
            yield self._run(spectrogram(source.read(0, source.size), cfg.sample_rate, cfg.window_size,
                                        cfg.window_stride, cfg.window))
            return
        spect = _StreamedSpectrogram(source, cfg.sample_rate, cfg.window_size, cfg.window_stride, cfg.window)
        # windows [a, b) around each core [start, start + CORE); output row j of a window is spectrogram frame
        # a + 2j (the conv stack's time stride 2), so the core's rows are cut out exactly
        for start in range(0, total, CORE):
            a, b = max(0, start - CONTEXT), min(total, start + CORE + CONTEXT)
            out = self._run(spect(a, b))
            end = min(start + CORE, total)
            yield out[(start - a) // 2:(end - a + 1) // 2]

    def _run(self, spect: torch.Tensor) -> torch.Tensor:
        x = spect[None, None].to(self.device)
        with torch.no_grad(), torch.autocast(device_type=self.device.type, enabled=self.autocast):
            out = self.model(x)
        return out[0].float().cpu()

    def __call__(self, signal: np.ndarray) -> np.ndarray:
        """(T25, 29) float32: ``logits[0][::2]``. ``signal``: 16 kHz mono, int16 (scaled by 1/32768, as torchaudio
        reads 16-bit PCM) or float in [-1, 1] (:func:`lawdnet.features.audio.dp2_signal`)."""
        from lawdnet.features.samples import ArraySamples

        signal = np.asarray(signal)
        if signal.ndim != 1:
            raise ValueError(f"dp2 expects 1-D 16 kHz mono samples, got shape {signal.shape}")
        if signal.dtype == np.int16:
            signal = signal.astype(np.float32) / np.float32(32768.0)
        return np.concatenate(list(self.rows(ArraySamples(np.asarray(signal, dtype=np.float32)))))

    def rows(self, source) -> Iterator[np.ndarray]:
        """The (T25, 29) rows of a float32 sample source (:mod:`lawdnet.features.samples`), block by block."""
        if source.size == 0:
            raise MediaError("the audio has 0 samples (0-length audio): DeepSpeech features need sound")
        for block in self.logit_blocks(source):         # every block starts at an even row: [::2] lines up
            yield np.ascontiguousarray(block[::2].numpy(), dtype=np.float32)


def deepspeech_dp2(wav_path: str | os.PathLike[str], checkpoint: str | os.PathLike[str],
                   device: str | torch.device = "cpu") -> np.ndarray:
    """(T25, 29) float32 dp2 features of any audio file, equal to the authors' ``extract_deepspeech_pytorch2.py``
    in fp32 (``precision=32``)."""
    from lawdnet.features.audio import load_dp2_signal

    signal = load_dp2_signal(wav_path)
    return Dp2Extractor(checkpoint, device)(signal)
