"""LawDNet/DINet lip-sync on tensors: align a batch of frames, mask the mouth, generate, paste the faces back.

    model = LipSyncModel.load("checkpoint_epoch_170.pth", model="lawdnet", mouth=288, device="cuda")
    out = model.lip_sync(frames, matrices, references, audio)   # (B, H, W, 3) uint8 frames with new mouths

Everything between the decoded frames and the frames to encode stays on the model's device: the alignment warp,
the mouth mask, the generator (fp16 autocast on CUDA, as the authors run it) and the feathered paste-back.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lawdnet import config
from lawdnet.face_align import warp_faces
from lawdnet.mouth_mask import mask_mouth
from lawdnet.paste import paste_back

MODELS = ("lawdnet", "dinet")


class RectMouthMask(nn.Module):
    """DINet's mouth mask: the rows [m/2, m/2 + m) and columns [m/8, m/8 + m) of the face crop set to zero."""

    def __init__(self, mouth: int):
        super().__init__()
        self.mouth = mouth

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        m = self.mouth
        out = faces.clone()
        out[:, :, m // 2:m // 2 + m, m // 8:m // 8 + m] = 0
        return out


@dataclass
class LipSyncModel:
    """A generator with the alignment geometry of its mouth size; ``model`` is ``lawdnet`` or ``dinet``."""

    generator: nn.Module
    mouth: int = 288
    model: str = "lawdnet"
    device: str = "cpu"

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        self.crop = config.crop_size(self.mouth)          # (h, w) of the generator's input
        self.align_width = config.align_width(self.mouth)
        self.mask = mask_mouth if self.model == "lawdnet" else RectMouthMask(self.mouth)

    @classmethod
    def load(cls, checkpoint: str | os.PathLike, model: str = "lawdnet", mouth: int = 288,
             device: str = "cpu") -> LipSyncModel:
        from lawdnet.checkpoint import load_generator

        return cls(load_generator(checkpoint, device=device, model=model), mouth, model, device)

    # ------------------------------------------------------------------------------------------------ tensors
    def align(self, frames: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float 0-255 frames -> (B, 3, h, w) aligned face crops, float 0-255."""
        return warp_faces(frames, matrices, self.align_width)

    def masked_input(self, aligned: torch.Tensor) -> torch.Tensor:
        """Aligned crops (0-255) -> the generator's source input: [0, 1] with the mouth masked out."""
        return self.mask(aligned / 255.0)

    @torch.no_grad()
    def generate(self, source: torch.Tensor, references: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """g(source (B,3,h,w), references (B,15,h,w), audio (B,29,5)) -> (B,3,h,w) float32 in [0, 1]."""
        return self.generator(source, references, audio).float().clamp_(0, 1)

    @torch.no_grad()
    def lip_sync(self, frames: np.ndarray, matrices: np.ndarray, references: torch.Tensor,
                 audio: np.ndarray) -> np.ndarray:
        """(B, H, W, 3) uint8 frames, their (B, 3, 3) alignment matrices, the (15, h, w) reference stack on the
        device and (B, 29, 5) audio windows -> (B, H, W, 3) uint8 frames with the generated mouths pasted in."""
        dev = self.device
        frames_t = torch.from_numpy(np.ascontiguousarray(frames)).to(dev).permute(0, 3, 1, 2).float()
        mats = torch.from_numpy(np.ascontiguousarray(matrices, dtype=np.float32)).to(dev)
        source = self.masked_input(self.align(frames_t, mats))
        refs = references.unsqueeze(0).expand(frames_t.shape[0], -1, -1, -1)
        audio_t = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(dev)
        generated = self.generate(source, refs, audio_t)
        pasted = paste_back(generated * 255.0, frames_t, mats)
        return pasted.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

    def reference_stack(self, references: np.ndarray) -> torch.Tensor:
        """(5, 3, h, w) [0, 1] reference crops -> the (15, h, w) tensor on the device the generator takes."""
        refs = torch.from_numpy(np.ascontiguousarray(references, dtype=np.float32)).to(self.device)
        if tuple(refs.shape[-2:]) != self.crop:
            raise ValueError(f"reference crops are {tuple(refs.shape[-2:])}, the model takes {self.crop}")
        return refs.reshape(-1, *self.crop)
