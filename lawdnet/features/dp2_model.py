"""deepspeech.pytorch's DeepSpeech network in plain torch, and its Lightning ``.ckpt`` read without running code.

The module names reproduce ``deepspeech_pytorch/model.py`` so the state-dict keys equal the checkpoint's
``state_dict`` (``conv.seq_module.N``, ``rnns.N.rnn``, ``rnns.N.batch_norm.module``, ``fc.0.module.N``).
"""
from __future__ import annotations

import math
import os
import pickle
import types
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from talkingface.errors import WeightsError

_RNN = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


@dataclass(frozen=True)
class Dp2Config:
    """The hyper-parameters the checkpoint stores (``hyper_parameters``: labels, model_cfg, spect_cfg)."""

    labels: tuple[str, ...]
    hidden_size: int = 1024
    hidden_layers: int = 5
    rnn_type: str = "lstm"
    bidirectional: bool = True
    lookahead_context: int = 20
    sample_rate: int = 16000
    window_size: float = 0.02
    window_stride: float = 0.01
    window: str = "hamming"


class SequenceWise(nn.Module):
    """Applies ``module`` to (T*N, H) and reshapes back to (T, N, H)."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, n = x.shape[0], x.shape[1]
        return self.module(x.reshape(t * n, -1)).reshape(t, n, -1)


class MaskConv(nn.Module):
    """The conv stack; after every module, time steps past each length are zeroed (as deepspeech.pytorch)."""

    def __init__(self, seq_module: nn.Sequential):
        super().__init__()
        self.seq_module = seq_module

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        for module in self.seq_module:
            x = module(x)
            steps = torch.arange(x.shape[3], device=x.device)
            keep = steps[None, :] < lengths.to(x.device)[:, None]  # (N, T)
            if not bool(keep.all()):        # nothing to zero (one utterance, or equal lengths): no 30 MB copy
                x = x.masked_fill(~keep[:, None, None, :], 0)
        return x


class BatchRNN(nn.Module):
    """Optional sequence-wise BatchNorm, then an RNN; bidirectional outputs are summed over the two directions."""

    def __init__(self, input_size: int, hidden_size: int, rnn_type: str, bidirectional: bool, batch_norm: bool):
        super().__init__()
        self.batch_norm = SequenceWise(nn.BatchNorm1d(input_size)) if batch_norm else None
        self.rnn = _RNN[rnn_type](input_size=input_size, hidden_size=hidden_size, bidirectional=bidirectional,
                                  bias=True)
        self.bidirectional = bidirectional

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.batch_norm is not None:
            x = self.batch_norm(x)
        x, _ = self.rnn(x)
        if self.bidirectional:
            x = x.reshape(x.shape[0], x.shape[1], 2, -1).sum(2)
        return x


class Lookahead(nn.Module):
    """Row convolution over future context (unidirectional models only)."""

    def __init__(self, n_features: int, context: int):
        super().__init__()
        self.context = context
        self.conv = nn.Conv1d(n_features, n_features, kernel_size=context, groups=n_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.pad(x.permute(1, 2, 0), (0, self.context - 1))
        return self.conv(x).permute(2, 0, 1).contiguous()


class DeepSpeech2(nn.Module):
    """Spectrogram (N, 1, F, T) -> logits before softmax (N, T', classes), T' = (T - 1) // 2 + 1."""

    def __init__(self, cfg: Dp2Config):
        super().__init__()
        self.cfg = cfg
        self.conv = MaskConv(nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=(41, 11), stride=(2, 2), padding=(20, 5)), nn.BatchNorm2d(32),
            nn.Hardtanh(0, 20, inplace=True),
            nn.Conv2d(32, 32, kernel_size=(21, 11), stride=(2, 1), padding=(10, 5)), nn.BatchNorm2d(32),
            nn.Hardtanh(0, 20, inplace=True)))
        size = int(math.floor(cfg.sample_rate * cfg.window_size / 2) + 1)
        size = int(math.floor(size + 2 * 20 - 41) / 2 + 1)
        size = int(math.floor(size + 2 * 10 - 21) / 2 + 1)
        hidden = cfg.hidden_size
        self.rnns = nn.Sequential(*(
            BatchRNN(size * 32 if i == 0 else hidden, hidden, cfg.rnn_type, cfg.bidirectional, batch_norm=i > 0)
            for i in range(cfg.hidden_layers)))
        self.lookahead = None if cfg.bidirectional else nn.Sequential(
            Lookahead(hidden, cfg.lookahead_context), nn.Hardtanh(0, 20, inplace=True))
        self.fc = nn.Sequential(SequenceWise(nn.Sequential(nn.BatchNorm1d(hidden),
                                                           nn.Linear(hidden, len(cfg.labels), bias=False))))

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Time steps after the conv stack: each conv's time-axis formula applied in turn."""
        for m in self.conv.modules():
            if isinstance(m, nn.Conv2d):
                lengths = (lengths + 2 * m.padding[1] - m.dilation[1] * (m.kernel_size[1] - 1) - 1) // m.stride[1] + 1
        return lengths

    def forward(self, spect: torch.Tensor) -> torch.Tensor:
        lengths = self.output_lengths(torch.full((spect.shape[0],), spect.shape[3], dtype=torch.int64))
        x = self.conv(spect, lengths)
        n, c, f, t = x.shape
        x = x.reshape(n, c * f, t).permute(2, 0, 1).contiguous()  # (T, N, H)
        for rnn in self.rnns:
            x = rnn(x)
        if self.lookahead is not None:
            x = self.lookahead(x)
        return self.fc(x).transpose(0, 1)


# ------------------------------------------------------------------------------------- reading the .ckpt safely
#: globals replaced by inert stand-ins (the hyper-parameter objects: omegaconf nodes, the authors' config
#: dataclasses and enums, Lightning callbacks); nothing of theirs is imported or run
_STUB_PREFIXES = ("omegaconf.", "deepspeech_pytorch.", "pytorch_lightning.", "lightning.", "lightning_fabric.",
                  "torchmetrics.", "typing", "enum", "torch.nn.modules.", "pathlib", "numpy", "argparse",
                  "_operator", "operator", "hydra.")
_REAL = {("collections", "OrderedDict"): OrderedDict, ("collections", "defaultdict"): defaultdict,
         ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
         ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
         ("torch", "Size"): torch.Size}
_BUILTINS = {"dict": dict, "list": list, "tuple": tuple, "set": set, "frozenset": frozenset, "int": int,
             "long": int, "float": float, "bool": bool, "str": str, "unicode": str, "bytes": bytes,
             "complex": complex, "object": object, "Ellipsis": Ellipsis, "NoneType": type(None)}


class _Stub:
    """An inert stand-in: records constructor arguments, pickled state and items; runs nothing."""

    origin = "?"

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.args, obj.state, obj.items = args, None, {}
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.state = state

    def __setitem__(self, key, value):
        self.items[key] = value

    def append(self, value):
        self.items[len(self.items)] = value

    def extend(self, values):
        for value in values:
            self.append(value)


def _stub_class(module: str, name: str) -> type:
    return type(name, (_Stub,), {"origin": f"{module}.{name}"})


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module in ("builtins", "__builtin__") and name in _BUILTINS:
            return _BUILTINS[name]
        if (module, name) in _REAL:
            return _REAL[(module, name)]
        if (module + ".").startswith(_STUB_PREFIXES) or module.startswith(_STUB_PREFIXES):
            return _stub_class(module, name)
        raise pickle.UnpicklingError(f"refused global {module}.{name}")


_PICKLE = types.ModuleType("restricted_pickle")
_PICKLE.Unpickler = _Unpickler
_PICKLE.load = lambda f, **kw: _Unpickler(f, **kw).load()
_PICKLE.__name__ = "restricted_pickle"


def read_checkpoint(path: str | os.PathLike[str]) -> dict:
    """The Lightning checkpoint as plain containers and tensors, unpickled with an allowlist (no code runs)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"dp2 checkpoint missing: {path} (deepspeech.pytorch LibriSpeech_Pretrained_v3.ckpt)")
    if path.stat().st_size == 0:
        raise WeightsError(f"{path}: empty file (0 bytes); fetch LibriSpeech_Pretrained_v3.ckpt again")
    try:
        obj = torch.load(path, map_location="cpu", pickle_module=_PICKLE, weights_only=False)
    except pickle.UnpicklingError as exc:
        raise WeightsError(f"{path}: not a deepspeech.pytorch checkpoint, {exc} (the kit runs no pickled code)"
                           ) from None
    except Exception as exc:  # torch raises RuntimeError/EOFError/zip errors for truncated files
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise WeightsError(f"{path}: cannot be loaded, truncated or damaged? ({type(exc).__name__}: {first})"
                           ) from None
    if not isinstance(obj, dict) or "state_dict" not in obj or "hyper_parameters" not in obj:
        keys = sorted(map(str, obj))[:5] if isinstance(obj, dict) else type(obj).__name__
        raise WeightsError(f"{path}: not a Lightning checkpoint of deepspeech.pytorch (no state_dict + "
                           f"hyper_parameters; got {keys})")
    return obj


def plain(obj: Any) -> Any:
    """Stand-ins -> plain values: omegaconf containers -> dict/list (a dict gets ``__type__``, the config
    dataclass name), value nodes -> their value, enum members -> their value, classes -> dotted names."""
    if isinstance(obj, type) and issubclass(obj, _Stub):
        return obj.origin
    if isinstance(obj, _Stub):
        state = obj.state if isinstance(obj.state, dict) else {}
        if "_content" in state:
            content = plain(state["_content"])
            meta = state.get("_metadata")
            kind = meta.state.get("object_type") if isinstance(meta, _Stub) and isinstance(meta.state, dict) else None
            if isinstance(content, dict):
                content["__type__"] = plain(kind) if kind is not None else None
            return content
        if "_val" in state:
            return plain(state["_val"])
        if obj.items:
            return {plain(k): plain(v) for k, v in obj.items.items()}
        return plain(obj.args[0]) if len(obj.args) == 1 else [plain(a) for a in obj.args]
    if isinstance(obj, dict):
        return {plain(k) if not isinstance(k, (str, int)) else k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


def config_from_checkpoint(ckpt: dict, path: str | os.PathLike[str]) -> Dp2Config:
    """:class:`Dp2Config` from the checkpoint's ``hyper_parameters`` (labels, model_cfg, spect_cfg)."""
    hp = plain(ckpt["hyper_parameters"])
    try:
        model, spect, labels = hp["model_cfg"], hp["spect_cfg"], hp["labels"]
        rnn = str(model.get("rnn_type", "lstm")).rsplit(".", 1)[-1].lower()
        cfg = Dp2Config(labels=tuple(str(c) for c in labels), hidden_size=int(model["hidden_size"]),
                        hidden_layers=int(model["hidden_layers"]), rnn_type=rnn,
                        bidirectional=not str(model.get("__type__") or "").endswith("UniDirectionalConfig"),
                        lookahead_context=int(model.get("lookahead_context", 20)),
                        sample_rate=int(spect["sample_rate"]), window_size=float(spect["window_size"]),
                        window_stride=float(spect["window_stride"]),
                        window=str(spect.get("window", "hamming")).rsplit(".", 1)[-1])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WeightsError(f"{path}: hyper_parameters lack the DeepSpeech model/spectrogram settings ({exc!r})"
                           ) from None
    if cfg.rnn_type not in _RNN or "_" not in cfg.labels or cfg.hidden_layers < 1:
        raise WeightsError(f"{path}: unsupported DeepSpeech settings (rnn {cfg.rnn_type!r}, "
                           f"{cfg.hidden_layers} layers, labels without the CTC blank '_'?)")
    return cfg
