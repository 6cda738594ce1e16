"""``EventWriter``: TensorBoard event files (scalars, images) written with tensorboard's protos and record writer.

``torch.utils.tensorboard.SummaryWriter`` imports TensorFlow when it is installed (1.7 s here, and TensorFlow loaded
before triton makes a later ``import triton`` segfault in this environment); these few records need neither.
"""
from __future__ import annotations

import io
import os
import socket
import time
from pathlib import Path
from typing import Any


class EventWriter:
    """One ``events.out.tfevents.*`` file in ``folder``; ``purge_step`` tells TensorBoard to drop the events of
    earlier files from that step on (a resumed run rewrites the steps after its checkpoint)."""

    def __init__(self, folder: str | os.PathLike, purge_step: int | None = None):
        from tensorboard.compat.proto.event_pb2 import Event, SessionLog
        from tensorboard.summary.writer.record_writer import RecordWriter

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{time.time():.0f}.{socket.gethostname()}.{os.getpid()}.0"
        self.path = folder / name
        self._writer = RecordWriter(open(self.path, "wb"))   # noqa: SIM115 - closed in close()
        self._write(Event(wall_time=time.time(), file_version="brain.Event:2"))
        if purge_step is not None:
            self._write(Event(wall_time=time.time(), step=int(purge_step),
                              session_log=SessionLog(status=SessionLog.START)))
        self.flush()

    def _write(self, event: Any) -> None:
        self._writer.write(event.SerializeToString())

    def scalars(self, values: dict[str, float], step: int) -> None:
        """One scalar event per tag at ``step``."""
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary

        summary = Summary(value=[Summary.Value(tag=tag, simple_value=float(v)) for tag, v in values.items()])
        self._write(Event(wall_time=time.time(), step=int(step), summary=summary))

    def images(self, images: dict[str, Any], step: int) -> None:
        """PNG image events of CHW (or HW) float tensors / arrays in [0, 1]."""
        import numpy as np
        from PIL import Image
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary

        values = []
        for tag, img in images.items():
            arr = img.detach().float().cpu().numpy() if hasattr(img, "detach") else np.asarray(img, dtype=np.float32)
            if arr.ndim == 3:
                arr = arr.transpose(1, 2, 0)
                arr = arr[..., 0] if arr.shape[2] == 1 else arr
            pixels = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
            buf = io.BytesIO()
            Image.fromarray(pixels).save(buf, format="PNG")
            channels = 1 if pixels.ndim == 2 else pixels.shape[2]
            values.append(Summary.Value(tag=tag, image=Summary.Image(
                height=pixels.shape[0], width=pixels.shape[1], colorspace=channels,
                encoded_image_string=buf.getvalue())))
        self._write(Event(wall_time=time.time(), step=int(step), summary=Summary(value=values)))

    def flush(self) -> None:
        """Push written events to the file."""
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the file."""
        if not self._writer.closed:
            self._writer.flush()
            self._writer.close()
