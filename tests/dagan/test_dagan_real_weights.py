"""The authors' released DaGAN on the kit's sample, when its files are in TALKINGFACE_CHECKPOINTS (`pytest -m weights`).

Skipped, with the missing file named, when the checkpoint or the depth network is absent (they are never
downloaded by tests: see `python -m talkingface weights status`).
"""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.weights
FILES = {"checkpoint": "dagan_vox_adv_256", "depth_encoder": "depth_encoder", "depth_decoder": "depth_decoder"}
TIMES = (0.0, 0.4, 0.8, 1.2, 1.6)     # seconds into the sample's talking head; t = 0 is the source itself


@pytest.fixture(scope="module")
def real_model():
    import dagan
    from talkingface.weights import weight_path

    paths = {role: weight_path(name, required=False) for role, name in FILES.items()}
    missing = [f"{FILES[role]} ({path})" for role, path in paths.items() if not path.is_file()]
    if missing:
        pytest.skip(f"real DaGAN weights missing: {', '.join(missing)}")
    return dagan.load_model(paths["checkpoint"], paths["depth_encoder"], paths["depth_decoder"], kp_num=15)


@pytest.fixture(scope="module")
def sample_frames() -> np.ndarray:
    """The kit's sample talking head (talkingface.sample): 256x256 frames at TIMES, mouth following the speech."""
    from skimage.data import astronaut

    from talkingface import sample

    speech, rate = sample._read_speech()
    openness = sample.mouth_openness(speech, rate, 50)
    photo = astronaut()
    return np.stack([sample.render_frame(photo, t, sample.Motion(), openness[round(25 * t)]) for t in TIMES])


def test_released_dagan_animates_the_sample(real_model, sample_frames):
    """README command (--relative --adapt_scale): sane output, identity motion gives back the source, motion moves
    the output, and two runs give the same bytes."""
    source = sample_frames[0]
    out = real_model.animate(source, sample_frames, relative=True, adapt_scale=True)
    assert out.shape == (len(TIMES), 256, 256, 3) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert all(float(f.std()) > 0.05 for f in out), "a generated frame is nearly flat"
    src = source.astype(np.float32) / 255
    assert float(np.abs(out[0] - src).mean()) < 0.1, "frame 0 (no motion) should reconstruct the source"
    moved = [float(np.abs(out[i] - out[0]).mean()) for i in range(1, len(TIMES))]
    assert max(moved) > 1e-3, f"the driving motion does not move the output ({moved})"
    again = real_model.animate(source, sample_frames, relative=True, adapt_scale=True)
    np.testing.assert_array_equal(out, again)
