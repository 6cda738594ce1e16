"""Training-core tests: the toy task of ``_training_toy.py`` importable, and helpers to run it in-process, read a
run's losses.csv and its TensorBoard events (without TensorFlow)."""
import csv
import struct
import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

REPO = Path(__file__).resolve().parents[2]
TOY_SCRIPT = Path(_HERE) / "_training_toy.py"


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def read_events(folder: Path) -> list:
    """Every Event of every event file in ``folder`` (TFRecord framing parsed here, CRCs not checked)."""
    from tensorboard.compat.proto.event_pb2 import Event

    events = []
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            events.append(Event.FromString(data[pos + 12:pos + 12 + length]))
            pos += 12 + length + 4
    return events


@pytest.fixture
def toy_settings(tmp_path):
    """A factory of small deterministic RunSettings in tmp_path/run (keyword overrides)."""
    from talkingface.training import RunSettings

    def make(**kw):
        base = dict(run_dir=tmp_path / "run", epochs=2, batch_size=4, num_workers=0, progress=False,
                    deterministic=True, checkpoint_every_minutes=0)
        base.update(kw)
        return RunSettings(**base)

    return make
