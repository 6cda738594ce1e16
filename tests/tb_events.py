"""Reading a run's TensorBoard event files in tests: the TFRecord framing parsed here (CRCs not checked), the
records decoded with tensorboard's own ``Event`` proto (no TensorFlow needed)."""
from __future__ import annotations

import struct
from pathlib import Path


def read_events(folder: Path) -> list:
    """Every Event of every ``events.out.tfevents.*`` file in ``folder``, in file order."""
    from tensorboard.compat.proto.event_pb2 import Event

    events = []
    for path in sorted(Path(folder).glob("events.out.tfevents.*")):
        data, pos = path.read_bytes(), 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            events.append(Event.FromString(data[pos + 12:pos + 12 + length]))
            pos += 12 + length + 4
    return events
