"""Weight files on disk: load_torch (one clear error per bad file, no code execution), save_torch (atomic), strict
state-dict loading that names the keys."""
from __future__ import annotations

import pickle
import re
import zipfile

import pytest
import torch

from talkingface import weights as W
from talkingface.errors import WeightsError


class _Opaque:
    pass


@pytest.fixture
def good_ckpt(tmp_path):
    state = {"w": torch.arange(4096, dtype=torch.float32).reshape(64, 64), "epoch": 3, "meta": {"h": 256}}
    return W.save_torch(state, tmp_path / "good.pth"), state


def test_save_and_load_round_trip(good_ckpt):
    path, state = good_ckpt
    assert zipfile.is_zipfile(path)
    loaded = W.load_torch(path)
    assert torch.equal(loaded["w"], state["w"]) and loaded["epoch"] == 3 and loaded["meta"] == {"h": 256}
    assert [p.name for p in path.parent.iterdir()] == ["good.pth"]


def test_save_torch_failure_leaves_nothing(tmp_path):
    with pytest.raises((pickle.PicklingError, AttributeError)):  # which one depends on the Python version
        W.save_torch({"f": lambda x: x}, tmp_path / "bad.pth")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage, words", [
    (lambda b: b[: len(b) // 2], "truncated or damaged"),
    (lambda b: b[:-10], "truncated or damaged"),
    (lambda b: b"", "empty file"),
    (lambda b: b"just some notes\n", "the file is text"),
    (lambda b: b"<!DOCTYPE html><html>sign in</html>", "HTML page"),
])
def test_load_torch_bad_files(good_ckpt, tmp_path, damage, words):
    path, _ = good_ckpt
    bad = tmp_path / "bad.pth"
    bad.write_bytes(damage(path.read_bytes()))
    with pytest.raises(WeightsError, match=re.escape(words)) as info:
        W.load_torch(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)


def test_load_torch_tampered_tensor_data(good_ckpt, tmp_path):
    path, _ = good_ckpt
    data = bytearray(path.read_bytes())
    pos = data.find(b"data/0") + 200  # inside the tensor bytes that follow the member's header
    data[pos] ^= 0xFF
    bad = tmp_path / "tampered.pth"
    bad.write_bytes(bytes(data))
    assert not torch.equal(torch.load(bad, weights_only=True)["w"], torch.load(path, weights_only=True)["w"])
    with pytest.raises(WeightsError, match="CRC mismatch"):
        W.load_torch(bad)


def test_load_torch_missing_and_directory(tmp_path):
    with pytest.raises(WeightsError, match=r"weights missing: .*nothing\.pth"):
        W.load_torch(tmp_path / "nothing.pth")
    with pytest.raises(WeightsError, match="is a directory"):
        W.load_torch(tmp_path)


def test_load_torch_refuses_code_execution(tmp_path):
    path = tmp_path / "code.pth"
    torch.save({"x": _Opaque()}, path)
    with pytest.raises(WeightsError, match=r"refused by torch.load\(weights_only=True\).*_Opaque"):
        W.load_torch(path)
    assert isinstance(W.load_torch(path, safe_globals=[_Opaque])["x"], _Opaque)


def test_load_torch_legacy_format(tmp_path):
    path = tmp_path / "legacy.model"
    torch.save({"w": torch.ones(3)}, path, _use_new_zipfile_serialization=False)
    assert torch.equal(W.load_torch(path)["w"], torch.ones(3))
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(WeightsError, match="truncated or damaged"):
        W.load_torch(path)


def test_strict_state_dict_loading_names_the_keys(tmp_path):
    import torch

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    state = {k: v.clone() for k, v in net.state_dict().items()}
    W.load_state_strict(net, state, "x.pth")
    bad = dict(state, extra=torch.zeros(1))
    del bad["0.bias"]
    bad["1.weight"] = torch.zeros(5)
    with pytest.raises(WeightsError) as info:
        W.load_state_strict(net, bad, "x.pth", "the test net")
    message = str(info.value)
    assert message.startswith("x.pth: the test net does not match the Sequential the kit builds")
    assert "1 missing key(s): 0.bias" in message and "1 unexpected key(s): extra" in message
    assert "1.weight [5] (expected [4])" in message
    without = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    with pytest.raises(WeightsError, match="num_batches_tracked"):
        W.load_state_strict(net, without, "x.pth")
    W.load_state_strict(net, without, "x.pth", optional_suffixes=(".num_batches_tracked",))
    ddp = {f"module.{k}": v for k, v in state.items()}
    W.load_state_strict(net, W.strip_ddp_prefix(ddp), "x.pth")
    W.save_torch({"not": "tensors"}, tmp_path / "odd.pth")
    with pytest.raises(WeightsError, match="odd.pth: not a plain SyncNet state dict of tensors"):
        W.load_state_dict_file(tmp_path / "odd.pth", "SyncNet state dict")
