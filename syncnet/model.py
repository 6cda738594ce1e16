"""The SyncNet network of syncnet_python (`SyncNetModel.S`), loadable from the released `syncnet_v2.model`.

The module tree (``netcnnaud``, ``netfcaud``, ``netcnnlip``, ``netfclip`` with their Sequential indices) is the
authors' one, so state-dict keys match the released file exactly. :func:`load_syncnet` loads strictly: every key and
shape must match, except that the released file has no ``num_batches_tracked`` buffers (it predates them) — exactly
those may be missing, nothing else.

Besides the authors' forward (:meth:`SyncNet.forward_lip`, 3-D convolutions over a 5-frame window), the model offers
:meth:`SyncNet.lip_embed_frames`: the same function written with 2-D convolutions (the first 5×7×7 kernel over a 5-frame
window is a 7×7 kernel over the 15 stacked channels, later kernels have temporal size 1), which PyTorch runs much
faster on CPU. Both give the same embeddings up to float rounding.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _triple

EMBED_DIM = 1024


class SyncNet(nn.Module):
    """syncnet_python's ``S``: an audio stream (MFCC 13×20 → 1024) and a lip stream (5×224×224 BGR → 1024)."""

    def __init__(self, num_layers_in_fc_layers: int = EMBED_DIM):
        super().__init__()
        self.netcnnaud = nn.Sequential(
            nn.Conv2d(1, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=(1, 1), stride=(1, 1)),
            nn.Conv2d(64, 192, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)),
            nn.BatchNorm2d(192),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=(3, 3), stride=(1, 2)),
            nn.Conv2d(192, 384, kernel_size=(3, 3), padding=(1, 1)),
            nn.BatchNorm2d(384),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=(3, 3), padding=(1, 1)),
            nn.BatchNorm2d(256),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=(3, 3), padding=(1, 1)),
            nn.BatchNorm2d(256),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=(3, 3), stride=(2, 2)),
            nn.Conv2d(256, 512, kernel_size=(5, 4), padding=(0, 0)),
            nn.BatchNorm2d(512),
            nn.ReLU(),
        )
        self.netfcaud = nn.Sequential(
            nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, num_layers_in_fc_layers),
        )
        self.netfclip = nn.Sequential(
            nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, num_layers_in_fc_layers),
        )
        self.netcnnlip = nn.Sequential(
            nn.Conv3d(3, 96, kernel_size=(5, 7, 7), stride=(1, 2, 2), padding=0),
            nn.BatchNorm3d(96),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
            nn.Conv3d(96, 256, kernel_size=(1, 5, 5), stride=(1, 2, 2), padding=(0, 1, 1)),
            nn.BatchNorm3d(256),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            nn.Conv3d(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)),
            nn.BatchNorm3d(256),
            nn.ReLU(inplace=True),
            nn.Conv3d(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)),
            nn.BatchNorm3d(256),
            nn.ReLU(inplace=True),
            nn.Conv3d(256, 256, kernel_size=(1, 3, 3), padding=(0, 1, 1)),
            nn.BatchNorm3d(256),
            nn.ReLU(inplace=True),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
            nn.Conv3d(256, 512, kernel_size=(1, 6, 6), padding=0),
            nn.BatchNorm3d(512),
            nn.ReLU(inplace=True),
        )

    # --- the authors' forward passes -------------------------------------------------------------------------
    def forward_aud(self, x: torch.Tensor) -> torch.Tensor:
        """(B,1,13,20) MFCC windows → (B,1024)."""
        mid = self.netcnnaud(x)
        return self.netfcaud(mid.view(mid.size(0), -1))

    def forward_lip(self, x: torch.Tensor) -> torch.Tensor:
        """(B,3,5,224,224) BGR 0–255 windows → (B,1024)."""
        mid = self.netcnnlip(x)
        return self.netfclip(mid.view(mid.size(0), -1))

    def forward(self, lip: torch.Tensor, aud: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_lip(lip), self.forward_aud(aud)

    # --- the same lip stream with 2-D convolutions (fast path) ---------------------------------------------------
    def lip_embed_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Embeddings of every 5-frame window of consecutive frames, as :meth:`forward_lip` computes them.

        ``frames``: (T,3,224,224) float BGR 0–255, T ≥ 5. Returns (T−4, 1024): row t is the window t..t+4.
        The windows are an overlapping strided view of ``frames`` (no 5× copy of the input is built by us); each
        eval-mode BatchNorm is folded into the convolution before it and ReLUs run in place, so only one activation
        map per layer is alive (equal to :meth:`forward_lip` up to float rounding).
        """
        t, c, h, w = frames.shape
        frames = frames.contiguous()
        s = frames.stride()
        # window t = frames[t:t+5] as 15 channels, time-major (the first kernel is reordered to match); one copy
        # into channels-last layout, which oneDNN/cuDNN run ~25 % faster than NCHW here
        x = frames.as_strided((t - 4, 5 * c, h, w), (s[0], s[1], s[2], s[3]))
        x = x.contiguous(memory_format=torch.channels_last)
        for op, *params in self._lip_ops_2d():
            if op == "conv":
                x = F.conv2d(x, *params)
            elif op == "relu":
                x = F.relu(x) if x.requires_grad else F.relu_(x)
            else:
                x = F.max_pool2d(x, *params)
        return self.netfclip(x.reshape(x.size(0), -1))

    def _lip_ops_2d(self) -> list[tuple]:
        """The lip stack as 2-D ops: ("conv", weight, bias, stride, padding) with BN folded, ("relu",), ("pool", …)."""
        layers, ops, i = list(self.netcnnlip), [], 0
        while i < len(layers):
            layer = layers[i]
            if isinstance(layer, nn.Conv3d):
                bn = layers[i + 1]
                weight = layer.weight
                if i == 0:
                    weight = weight.permute(0, 2, 1, 3, 4).reshape(layer.out_channels, -1, *layer.kernel_size[1:])
                else:
                    weight = weight[:, :, 0]
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                bias = (layer.bias - bn.running_mean) * scale + bn.bias
                weight = (weight * scale[:, None, None, None]).contiguous(memory_format=torch.channels_last)
                ops.append(("conv", weight, bias, layer.stride[1:], layer.padding[1:]))
                i += 2
                continue
            if isinstance(layer, nn.ReLU):
                ops.append(("relu",))
            elif isinstance(layer, nn.MaxPool3d):
                ops.append(("pool", _triple(layer.kernel_size)[1:], _triple(layer.stride)[1:],
                            _triple(layer.padding)[1:]))
            else:
                raise TypeError(f"unexpected lip-stream layer {layer!r}")
            i += 1
        return ops


def load_syncnet(path: str | Path, device: str | torch.device = "cpu") -> SyncNet:
    """Load ``syncnet_v2.model`` (a plain state dict) strictly into an eval-mode :class:`SyncNet` on ``device``.

    Accepted: exactly the authors' keys and shapes; the ``num_batches_tracked`` buffers may be absent (the released
    file has none). Anything else — other keys, wrong shapes, a file that is not a state dict — raises one
    :class:`WeightsError` naming the file and what is wrong.
    """
    from talkingface.weights import load_state_dict_file, load_state_strict

    state = load_state_dict_file(path, "SyncNet state dict (syncnet_v2.model format)")
    model = SyncNet()
    load_state_strict(model, state, path, "the syncnet_v2.model state dict",
                      optional_suffixes=(".num_batches_tracked",))
    return model.to(device).eval()


def get_syncnet(weights: str | Path | SyncNet | None = None, device: str | torch.device = "cpu") -> SyncNet:
    """An eval-mode SyncNet on ``device`` from a loaded model, a ``syncnet_v2.model`` path, or None (the manifest's
    ``syncnet_v2``; WeightsError "weights missing: …" when absent)."""
    if isinstance(weights, SyncNet):
        return weights.to(device).eval()
    from talkingface.weights import resolve_weights

    return load_syncnet(resolve_weights("syncnet_v2", weights), device)


def save_syncnet(model: SyncNet, path: str | Path, num_batches_tracked: bool = False) -> Path:
    """Write ``model`` in the syncnet_v2.model format (a plain CPU state dict), atomically.

    ``num_batches_tracked=False`` writes the file exactly as released (without those buffers).
    """
    from talkingface.weights import save_torch

    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()
             if num_batches_tracked or not k.endswith(".num_batches_tracked")}
    return save_torch(state, path)
