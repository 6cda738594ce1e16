"""LSE-C / LSE-D as a video metric of the kit's registry (talkingface.metrics): one SyncNet run gives both."""
from __future__ import annotations

from pathlib import Path

import torch

from syncnet.evaluate import MODES
from syncnet.model import get_syncnet
from talkingface.device import resolve_device
from talkingface.errors import KitError


class LSEMetric:
    """``LSEMetric(weights=None, device="cpu", mode="whole-frame").video(path)`` →
    ``{"lse_c", "lse_d", "offset", "frames", "mode", "reference", "notes"}``.

    ``weights=None`` uses the manifest's ``syncnet_v2`` (WeightsError "weights missing: …" when absent, raised here
    at construction so the runner can report the metric as unavailable). The model is loaded once.
    """

    def __init__(self, weights: str | Path | None = None, device: str = "cpu", mode: str = "whole-frame",
                 s3fd_weights: str | Path | None = None, batch_size: int = 32):
        if mode not in MODES:
            raise KitError(f"unknown LSE mode {mode!r}; use one of {', '.join(MODES)}")
        self.device = torch.device(resolve_device(device))
        self.model = get_syncnet(weights, self.device)
        self.mode = mode
        self.s3fd_weights = s3fd_weights
        self.batch_size = batch_size
        self.spec = None  # the registry sets the MetricSpec it created this object for

    def video(self, path: str | Path) -> dict:
        """Score one video (it needs an audio track); raises a one-line KitError/MediaError when it cannot."""
        from syncnet.evaluate import evaluate_video

        r = evaluate_video(path, self.model, self.device, mode=self.mode, s3fd_weights=self.s3fd_weights,
                           batch_size=self.batch_size)
        return {"lse_c": r.lse_c, "lse_d": r.lse_d, "offset": r.offset, "frames": r.frames, "mode": r.mode,
                "reference": r.reference, "notes": list(r.notes)}
