"""The resume cache is keyed on every input, exactly: a replaced ground truth, source or weights file re-scores what
depends on it and nothing else, and faults while writing the cache neither lose nor repeat work.

Replacements keep the size and the mtime (as ``cp -p`` of a same-size file would): only the content fingerprint of
``talkingface.evaluation.cache.file_stamp`` can tell them apart. Metric calls are counted with ``counting_factory``.
"""
from __future__ import annotations

import errno
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from evaluate_helpers import sample_by_name

from talkingface.errors import OutputError
from talkingface.evaluation.cache import CACHE_NAME, ResultCache
from talkingface.media.images import read_image

N_FRAMES = {"id0": 1, "id1": 1, "id2": 1, "v0": 5, "v1": 4}     # frames scored per sample of generate_base_self


def replace_same_size_and_mtime(path: Path, image: np.ndarray) -> None:
    """Write ``image`` as a PNG over ``path``, padded (a tEXt chunk) to the old size, the old mtime put back."""
    import cv2

    st = path.stat()
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    data = encoded.tobytes()
    text = b"pad\0" + b"x" * (st.st_size - len(data) - 16)
    assert ok and len(text) >= 4, "the replacement must compress smaller than the original"
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
    iend = data.rfind(b"IEND") - 4
    path.write_bytes(data[:iend] + chunk + data[iend:])
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns)


def values(results: dict) -> dict:
    return {s["sample"]: s["values"] for s in results["runs"][0]["samples"]}


def test_replaced_ground_truth_rescores_exactly_that_sample(copy_set, run_eval, tmp_path, counting_factory):
    import cv2
    from skimage.metrics import peak_signal_noise_ratio

    base = copy_set(keep={"generate_base_self"})
    out = tmp_path / "out"
    first, _ = run_eval(base, out=out, metrics=["psnr"])
    gt = base / "gt_self" / "id1.png"
    replace_same_size_and_mtime(gt, cv2.GaussianBlur(read_image(gt), (0, 0), 3))

    again, _ = run_eval(base, out=out, metrics=["psnr"], metric_factory=counting_factory)
    run = again["runs"][0]
    assert (run["n_computed"], run["n_cached"]) == (1, 4)
    assert counting_factory.frames["psnr"] == N_FRAMES["id1"]
    gen = read_image(base / "generate_base_self" / "id1.png")
    assert values(again)["id1"]["psnr"] == pytest.approx(peak_signal_noise_ratio(read_image(gt), gen, data_range=255),
                                                         rel=1e-9)
    assert values(again)["id1"]["psnr"] != values(first)["id1"]["psnr"]
    assert {k: v for k, v in values(again).items() if k != "id1"} == {
        k: v for k, v in values(first).items() if k != "id1"}


def test_replaced_source_invalidates_its_entry(copy_set, run_eval, tmp_path, counting_factory):
    """The source is only shown (visuals), but it is an input of the sample: its entry and its visual are redone."""
    base = copy_set(keep={"generate_base_self"})
    out = tmp_path / "out"
    run_eval(base, out=out, metrics=["psnr"], save_visuals=True)
    visual = out / "visuals" / "generate_base_self" / "id2.png"
    before = visual.read_bytes()
    replace_same_size_and_mtime(base / "source_self" / "id2.png", np.full((200, 200, 3), 128, np.uint8))

    again, _ = run_eval(base, out=out, metrics=["psnr"], save_visuals=True, metric_factory=counting_factory)
    assert (again["runs"][0]["n_computed"], again["runs"][0]["n_cached"]) == (1, 4)
    assert counting_factory.frames["psnr"] == N_FRAMES["id2"]
    assert visual.read_bytes() != before


@pytest.fixture
def own_weights(_weights_files, monkeypatch, tmp_path) -> Path:
    """A private checkpoints folder (links to the session's random FID/AlexNet files, a copy of lpips' linear
    layers) whose files a test may replace."""
    from talkingface.weights import weight_path

    folder = tmp_path / "checkpoints"
    for f in _weights_files.rglob("*.pth"):
        (folder / f.relative_to(_weights_files)).parent.mkdir(parents=True, exist_ok=True)
        (folder / f.relative_to(_weights_files)).symlink_to(f)
    linear = weight_path("lpips_alex_linear")                     # the lpips package's copy
    (folder / "lpips" / "v0.1").mkdir(parents=True)
    (folder / "lpips" / "v0.1" / "alex.pth").write_bytes(linear.read_bytes())
    monkeypatch.setenv("TALKINGFACE_CHECKPOINTS", str(folder))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return folder


def _rewrite(path: Path, change) -> None:
    """Replace a weights file by a changed copy of its state dict of the same size (the manifest checks sizes):
    re-saved when it is a zip-format file (this torch wrote it), else patched in place (lpips' legacy file: each
    tensor's bytes overwritten by its changed values)."""
    import zipfile

    import torch

    size, zipped = path.stat().st_size, zipfile.is_zipfile(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    old = {k: v.clone() for k, v in state.items()}
    change(state)
    data = bytearray(path.read_bytes())
    path.unlink()                                   # may be a link to the session's file: never write through it
    if zipped:
        torch.save(state, path)
    else:
        for k, tensor in old.items():
            raw = tensor.numpy().tobytes()
            at = data.find(raw)
            assert at >= 0 and data.find(raw, at + 1) < 0, k
            data[at:at + len(raw)] = state[k].numpy().tobytes()
        path.write_bytes(bytes(data))
    assert path.stat().st_size == size


@pytest.mark.slow
def test_replaced_weights_rescore_only_their_metric(copy_set, run_eval, own_weights, tmp_path, counting_factory):
    base = copy_set(keep={"generate_base_self"})
    out = tmp_path / "out"
    opts = {"metrics": ["psnr", "lpips", "fid"], "fid_dims": 64, "out": out}
    first, _ = run_eval(base, **opts)
    all_frames = sum(N_FRAMES.values())

    def scale_linear(state):
        for k in state:
            state[k] *= 2
    _rewrite(own_weights / "lpips" / "v0.1" / "alex.pth", scale_linear)       # LPIPS is linear in these weights
    counts = counting_factory
    second, _ = run_eval(base, metric_factory=counts, **opts)
    assert second["runs"][0]["n_computed"] == 5
    assert counts.frames["lpips"] == all_frames
    assert counts.frames["psnr"] == counts.frames["fid.features"] == counts.frames["fid.add_reference"] == 0
    for name, v in values(second).items():
        assert v["lpips"] == pytest.approx(2 * values(first)[name]["lpips"], rel=1e-5)
        assert v["psnr"] == values(first)[name]["psnr"]
    fid_value = second["runs"][0]["metrics"]["fid"]["value"]
    assert fid_value == first["runs"][0]["metrics"]["fid"]["value"]

    def scale_first_conv(state):
        key = next(k for k in state if k.endswith("conv.weight"))
        state[key] *= 1.5
    _rewrite(own_weights / "fid" / "pt_inception-2015-12-05-6726825d.pth", scale_first_conv)
    counts.frames.clear()
    third, _ = run_eval(base, metric_factory=counts, **opts)
    # new Inception weights: every generated frame re-encoded and the reference statistics recomputed (their cache
    # is keyed by the weights file too), no other metric called
    assert counts.frames["fid.features"] == all_frames
    assert counts.frames["fid.add_reference"] == 3 + 10
    assert counts.frames["psnr"] == counts.frames["lpips"] == 0
    assert third["runs"][0]["n_cached"] == 5
    assert third["runs"][0]["metrics"]["fid"]["value"] != fid_value


def test_weights_enter_the_keys_of_their_metrics_only(own_weights, tmp_path):
    """SyncNet's file (and S3FD's in face-track mode) key LSE-C/LSE-D; the other metrics' keys stay."""
    from syncnet.model import SyncNet, save_syncnet
    from talkingface.evaluation.config import EvaluateConfig
    from talkingface.evaluation.metrics import build_metrics

    def keys(**opts):
        cfg = EvaluateConfig(metrics=["psnr", "lpips", "lse_c", "lse_d"], **opts).validate()
        return build_metrics(cfg, "cpu", factory=lambda name, device, **kw: _Stub(name)).keys

    before = keys()
    path = own_weights / "syncnet" / "syncnet_v2.model"
    path.parent.mkdir()
    save_syncnet(SyncNet(), path)
    after = keys()
    assert after["lse_c"] != before["lse_c"] and after["lse_d"] != before["lse_d"]
    assert {k: after[k] for k in ("psnr", "lpips")} == {k: before[k] for k in ("psnr", "lpips")}
    face = keys(lse_mode="face-track")
    (own_weights / "syncnet" / "sfd_face.pth").write_bytes(b"stand-in detector weights")
    assert keys(lse_mode="face-track")["lse_c"] != face["lse_c"] and keys()["lse_c"] == after["lse_c"]


class _Stub:
    def __init__(self, name):
        from talkingface.metrics import get_spec

        self.spec = get_spec(name)


def test_a_write_dying_mid_line_loses_nothing_and_repeats_nothing(copy_set, run_eval, tmp_path, monkeypatch,
                                                                  counting_factory):
    base = copy_set(keep={"generate_base_self"})
    out = tmp_path / "out"
    real_write, calls = ResultCache._write_line, []

    def dies_on_the_third_line(self, data):
        calls.append(data)
        if len(calls) == 3:
            os.write(self._fd, data[: len(data) // 2])       # half a line reaches the file, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, data)

    monkeypatch.setattr(ResultCache, "_write_line", dies_on_the_third_line)
    with pytest.raises(OutputError, match="resume cache line not written"):
        run_eval(base, out=out)
    lines = (out / CACHE_NAME).read_bytes().splitlines(keepends=True)
    assert len(lines) == 2 and all(line.endswith(b"\n") for line in lines)      # the half line was cut off
    done = {json.loads(line)["record"]["sample"] for line in lines}

    # the same fault where the cut-off fails too (as after a kill): the next run drops the partial line
    calls.clear()

    def eio(*args):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "ftruncate", eio)
    with pytest.raises(OutputError):
        run_eval(base, out=out)
    monkeypatch.undo()
    assert not (out / CACHE_NAME).read_bytes().endswith(b"\n")
    done |= {json.loads(line)["record"]["sample"]
             for line in (out / CACHE_NAME).read_bytes().splitlines()[:-1]}

    resumed, _ = run_eval(base, out=out, metric_factory=counting_factory)
    run = resumed["runs"][0]
    assert run["n_cached"] == len(done) and run["n_computed"] == 5 - len(done)
    assert counting_factory.frames["psnr"] == sum(n for s, n in N_FRAMES.items() if s not in done)
    assert resumed["cache_note"].startswith("1 incomplete line")
    final = (out / CACHE_NAME).read_bytes()                     # every sample once, nothing partial
    assert final.endswith(b"\n")
    assert sorted(json.loads(line)["record"]["sample"] for line in final.splitlines()) == sorted(N_FRAMES)


def test_a_failing_fsync_stops_the_run(copy_set, run_eval, tmp_path, monkeypatch, counting_factory):
    """Not retried (after a failed fsync a retry can succeed without the data): one OutputError line naming the
    cache; the line written before it is whole, and the next run takes it."""
    base = copy_set(keep={"generate_base_self"})
    out = tmp_path / "out"

    def eio(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", eio)
    with pytest.raises(OutputError, match=r"results_cache.jsonl: .*fsync failed.*not retrying"):
        run_eval(base, out=out)
    monkeypatch.undo()
    assert len((out / CACHE_NAME).read_bytes().splitlines()) == 1
    resumed, _ = run_eval(base, out=out, metric_factory=counting_factory)
    assert (resumed["runs"][0]["n_cached"], resumed["runs"][0]["n_computed"]) == (1, 4)
    assert sample_by_name(resumed["runs"][0], "id0")["values"]["psnr"] > 0
