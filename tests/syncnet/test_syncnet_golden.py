"""The kit's LSE against syncnet_python's own evaluate: tests/data/golden/syncnet.* (scripts/make_golden.py).

The golden holds what ``SyncNetInstance.evaluate`` returned on ``syncnet_clip.avi`` (the kit's talking head with the
sample speech, 224x224, 25 fps, PCM audio) with the formula weights of tests/golden_weights.py saved as a
syncnet_v2.model file: the 31 mean distances, offset, LSE-D, LSE-C and the per-window distances. Here the same file
goes through ``syncnet.evaluate_video`` (the kit's loading path and fast path), and through the test oracle.
LSE moves with the ffmpeg version (docs/lse_protocol.md): a failure says which ffmpeg made the golden.
"""
from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from golden_weights import load_golden, write_syncnet_file

import syncnet
from talkingface.media import ffmpeg_version

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
CLIP = GOLDEN / "syncnet_clip.avi"
RTOL = 1e-5          # LSE-D, LSE-C, the 31 mean and the per-window distances (measured: README.md there)


@pytest.fixture(scope="module")
def golden() -> tuple[dict, dict[str, np.ndarray]]:
    doc, arrays = load_golden("syncnet")
    assert hashlib.sha256(CLIP.read_bytes()).hexdigest() == doc["clip"]["sha256"], f"{CLIP} is not the golden's clip"
    return doc, arrays


@pytest.fixture(scope="module")
def weights(golden) -> Iterator[Path]:
    """The formula weights as a syncnet_v2.model file (deleted after this module's tests)."""
    with tempfile.TemporaryDirectory(prefix="syncnet_golden_") as tmp:
        path, digest = write_syncnet_file(Path(tmp) / "syncnet_v2.model")
        assert digest == golden[0]["weights"]["state_sha256"], \
            "the weight formula changed; regenerate with scripts/make_golden.py (tests/data/golden/README.md)"
        yield path


def _context(doc) -> str:
    made, now = doc["environment"]["ffmpeg"], ffmpeg_version()
    same = "same ffmpeg" if made == now else f"DIFFERENT ffmpeg: LSE moves with it, regenerate the golden ({now})"
    return f"golden made by syncnet_python {doc['authors']['commit'][:8]} with ffmpeg {made}; {same}"


def block_distances(lip: torch.Tensor, audp: torch.Tensor, vshift: int) -> list[torch.Tensor]:
    """d[v, j] = ||lip[v] - audp[v + j] + 1e-6|| (syncnet_python's calc_pdist) for a block of lip rows and the
    zero-padded audio rows they see, one (2 vshift + 1,) row per window."""
    return [torch.nn.functional.pairwise_distance(lip[[v]].repeat(2 * vshift + 1, 1), audp[v:v + 2 * vshift + 1])
            for v in range(len(lip))]


def _check(doc, arrays, offset, lse_d, lse_c, mdist, frames, what):
    ctx = f"{what}: {_context(doc)}"
    assert frames == doc["windows"], ctx
    assert offset == doc["offset"], ctx
    assert lse_d == pytest.approx(doc["lse_d"], rel=RTOL), ctx
    assert lse_c == pytest.approx(doc["lse_c"], rel=RTOL), ctx
    np.testing.assert_allclose(mdist, doc["mdist"], rtol=RTOL, err_msg=ctx)
    np.testing.assert_allclose(mdist, arrays["mdist"], rtol=RTOL, err_msg=ctx)


def test_golden_is_not_trivial(golden):
    doc, arrays = golden
    assert doc["authors"]["repository"] == "joonson/syncnet_python" and len(doc["authors"]["commit"]) == 40
    assert arrays["dists"].shape == (doc["windows"], 31) and doc["windows"] >= 30
    assert doc["mdist_ptp"] > 10 and doc["lse_c"] > 1     # distances depend on the offset
    assert np.ptp(arrays["dists"][:, 15]) > 0.1            # and on the window (the clip's content)


def test_evaluate_video_equals_syncnet_python(golden, weights, monkeypatch):
    """``syncnet.evaluate_video`` (whole-frame mode, a no-op resize on this 224x224 clip) from the weights file."""
    import syncnet.offsets

    doc, arrays = golden
    rows = []
    original = syncnet.offsets.row_distances

    def spy(lip, audp, vshift):     # the streamed offset search's blocks, in order
        rows.extend(block_distances(lip, audp, vshift))
        return original(lip, audp, vshift)

    monkeypatch.setattr(syncnet.offsets, "row_distances", spy)
    r = syncnet.evaluate_video(CLIP, weights, device="cpu")
    assert r.mode == "whole-frame" and r.reference and not r.notes, r.notes
    _check(doc, arrays, r.offset, r.lse_d, r.lse_c, r.distances, r.frames, "syncnet.evaluate_video")
    per_window = torch.stack(rows).numpy()
    np.testing.assert_allclose(per_window, arrays["dists"], rtol=RTOL, err_msg=_context(doc))


@pytest.mark.slow
def test_oracle_equals_syncnet_python(golden, weights):
    """The independent test oracle (tests/syncnet/_syncnet_oracle.py) agrees with the authors' run too."""
    from _syncnet_oracle import oracle_evaluate

    doc, arrays = golden
    r = oracle_evaluate(syncnet.load_syncnet(weights), CLIP, resize=False)
    _check(doc, arrays, r.offset, r.lse_d, r.lse_c, r.distances, r.frames, "test oracle")
    np.testing.assert_allclose(r.window_distances, arrays["dists"], rtol=RTOL, err_msg=_context(doc))
