"""The speed options of DaganModel (dagan/speed.py): channels-last on the CPU, the measured batch sizes, and the
compiled batch path's one-shape padding, each against the plain eager float32 model."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from dagan.model import DaganModel
from dagan.speed import CompiledBatch, default_batch_size

TINY_SIZE = 64


def _model(tiny_nets, tiny_cfg, **kwargs) -> DaganModel:
    g, k, e, d, _ = (copy.deepcopy(n) for n in tiny_nets)
    return DaganModel(g, k, e, d, tiny_cfg, frame_size=TINY_SIZE, **kwargs)


def test_measured_default_batch_sizes():
    assert default_batch_size(torch.device("cpu")) == 2
    assert default_batch_size(torch.device("cuda:1")) == 32


def test_channels_last_is_the_cpu_default_and_keeps_the_output(tiny_nets, tiny_cfg, source_image, driving_frames):
    plain = _model(tiny_nets, tiny_cfg, channels_last=False, batch_size=3)
    fast = _model(tiny_nets, tiny_cfg, batch_size=3)
    assert fast.channels_last is True and plain.channels_last is False
    conv = next(m for m in fast.generator.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert fast.preprocess(driving_frames[:2]).is_contiguous(memory_format=torch.channels_last)
    want = plain.animate(source_image, driving_frames)
    got = fast.animate(source_image, driving_frames)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)      # the kit's float32 tolerance vs the authors


def test_compiled_path_pads_short_batches_to_one_shape(tiny_nets, tiny_cfg, source_image, driving_frames,
                                                      monkeypatch):
    """torch.compile replaced by a recorder: every compiled call sees the batch size (5 frames in batches of 3:
    the last batch of 2 is padded), the source's work stays eager, and the output equals the eager model's."""
    shapes: list[tuple[str, int]] = []

    def fake_compile(fn, dynamic=None):
        assert dynamic is False
        name = getattr(fn, "__name__", type(fn).__name__)

        def call(*args, **kwargs):
            if name == "decode":                                  # (source encoding, kp_source, kp_driving)
                batch = len(args[2]["value"])
            else:                                                 # images, or the depth decoder's feature list
                batch = len(args[0][0] if isinstance(args[0], (list, tuple)) else args[0])
            shapes.append((name, batch))
            return fn(*args, **kwargs)
        return call

    monkeypatch.setattr(torch, "compile", fake_compile)
    eager = _model(tiny_nets, tiny_cfg, batch_size=3)
    compiled = _model(tiny_nets, tiny_cfg, batch_size=3)
    compiled.compile_batch_path()
    assert isinstance(compiled.compiled, CompiledBatch)
    got = compiled.animate(source_image, driving_frames)
    want = eager.animate(source_image, driving_frames)
    assert got.shape == want.shape == (5, TINY_SIZE, TINY_SIZE, 3)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    assert shapes and {n for _, n in shapes} == {3}               # never 1 (source) nor 2 (the short last batch)
    assert {name for name, _ in shapes} >= {"DepthEncoder", "DepthDecoder", "KPDetector", "decode"}


def test_pad_repeats_the_last_row_and_keeps_the_layout():
    batch = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    padded = CompiledBatch.pad(batch.contiguous(memory_format=torch.channels_last), 5)
    assert padded.shape == (5, 3, 4, 4) and padded.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(padded[:2], batch) and all(torch.equal(padded[i], batch[1]) for i in (2, 3, 4))
    assert CompiledBatch.pad(batch, 2) is batch


@pytest.mark.parametrize("size", [1, 2])
def test_pad_never_shrinks(size):
    batch = torch.zeros(2, 1, 2, 2)
    assert len(CompiledBatch.pad(batch, size)) == 2
