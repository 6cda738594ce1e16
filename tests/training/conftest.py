"""Training-core tests: ``_training_toy.py`` and ``_training_files.py`` importable, and the settings factory of
the in-process runs."""
import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


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
