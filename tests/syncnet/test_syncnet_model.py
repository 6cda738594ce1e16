"""SyncNet network: strict loading of the syncnet_v2.model format, wrong files, the 2-D fast lip stream."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from syncnet.model import SyncNet, load_syncnet, save_syncnet
from talkingface.errors import WeightsError

LAYOUT = Path(__file__).resolve().parents[1] / "data" / "layouts" / "syncnet_v2.json"   # the authors' layout


def test_state_dict_matches_the_authors_layout():
    layout = json.loads(LAYOUT.read_text())
    state = SyncNet().state_dict()
    assert list(state) == list(layout)
    for key, spec in layout.items():
        assert list(state[key].shape) == spec["shape"], key
        assert str(state[key].dtype).replace("torch.", "") == spec["dtype"], key


@pytest.mark.parametrize("with_nbt", [False, True], ids=["as-released", "with-num_batches_tracked"])
def test_round_trip(tmp_path, with_nbt):
    torch.manual_seed(1)
    model = SyncNet()
    with torch.no_grad():
        model.netcnnaud[1].running_mean.normal_()
    path = save_syncnet(model, tmp_path / "s.model", num_batches_tracked=with_nbt)
    raw = torch.load(path, weights_only=True)
    assert any(k.endswith("num_batches_tracked") for k in raw) == with_nbt
    loaded = load_syncnet(path)
    assert not loaded.training
    for k, v in model.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(loaded.state_dict()[k], v), k


def _state():
    return {k: v for k, v in SyncNet().state_dict().items() if not k.endswith("num_batches_tracked")}


@pytest.mark.parametrize("case", ["missing", "extra", "shape", "nested", "not_tensors"])
def test_wrong_state_dicts_are_refused(tmp_path, case):
    state = _state()
    if case == "missing":
        del state["netcnnlip.0.weight"]
    elif case == "extra":
        state["module.extra"] = torch.zeros(1)
    elif case == "shape":
        state["netfclip.3.weight"] = torch.zeros(512, 512)
    elif case == "nested":
        state = {"state_dict": state}
    else:
        state = [1, 2, 3]
    path = tmp_path / "bad.model"
    torch.save(state, path)
    with pytest.raises(WeightsError) as err:
        load_syncnet(path)
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg
    if case == "missing":
        assert "netcnnlip.0.weight" in msg
    if case == "extra":
        assert "module.extra" in msg
    if case == "shape":
        assert "netfclip.3.weight" in msg


def test_garbage_and_missing_files(tmp_path):
    junk = tmp_path / "junk.model"
    junk.write_text("<html>sign in</html>")
    with pytest.raises(WeightsError, match="junk.model"):
        load_syncnet(junk)
    with pytest.raises(WeightsError, match="nothere.model"):
        load_syncnet(tmp_path / "nothere.model")


def test_2d_lip_stream_equals_the_3d_forward():
    torch.manual_seed(0)
    model = SyncNet().eval()
    frames = torch.rand(6, 3, 224, 224) * 255
    windows = torch.stack([frames[t:t + 5].permute(1, 0, 2, 3) for t in range(2)])   # (2,3,5,224,224)
    with torch.inference_mode():
        ref = model.forward_lip(windows)
        fast = model.lip_embed_frames(frames)
    assert fast.shape == (2, 1024)
    torch.testing.assert_close(fast, ref, rtol=1e-4, atol=1e-4)
