"""The streamed offset search (syncnet.offsets.StreamingOffsets) equals the whole-array one (offset_distances).

Random embeddings, fed in pieces of various sizes; lastframe decided by the audio (every fed row is a window) or by
the video (one row more fed than scored), clips shorter than 2·vshift, chunk boundaries on and around the tail, pieces
of one row. The audio rows must only be asked for below lastframe, in the batches the whole-array path uses.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from syncnet.offsets import StreamingOffsets, offset_distances

D = 64      # the embedding size does not enter the streaming logic; SyncNet's 1024 only makes it slower


def _stream(lip, aud, lastframe, pieces, chunk, audio_batch, vshift=15):
    asked = []

    def audio_rows(s, e):
        asked.append((s, e))
        return aud[s:e].clone()

    search = StreamingOffsets(audio_rows, vshift, chunk=chunk, audio_batch=audio_batch)
    held, pos, i = 0, 0, 0
    while pos < len(lip):
        k = pieces[i % len(pieces)]
        search.add(lip[pos:pos + k])
        pos, i = pos + k, i + 1
        held = max(held, 0 if search.lip is None else len(search.lip))
        assert search.aud_end <= pos - 1 or search.aud_end == 0      # audio only below rows fed − 1 <= lastframe
    return search.finish(lastframe), asked, held


def _cases():
    for n in (1, 2, 3, 14, 15, 16, 29, 30, 31, 45, 46, 47, 63, 64, 65, 77, 95, 96, 97, 128, 200):
        for by_video in (False, True):
            for pieces in ((1,), (32,), (7, 1, 13)):
                yield n, by_video, pieces


@pytest.mark.parametrize("n, by_video, pieces", list(_cases()))
def test_streamed_equals_whole_small_chunks(n, by_video, pieces):
    """Small chunk (16 rows) and audio batch (8 rows) so that the tail cases all occur on short clips."""
    gen = torch.Generator().manual_seed(n * 10 + by_video)
    fed = n + 1 if by_video else n           # video decides: one window more read than lastframe
    lip, aud = torch.randn(fed, D, generator=gen), torch.randn(fed, D, generator=gen)
    got, asked, held = _stream(lip, aud, n, pieces, chunk=16, audio_batch=8)
    want = offset_distances(lip[:n], aud[:n], chunk=16)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    covered = [r for s, e in asked for r in range(s, e)]
    assert covered == list(range(n))                                   # every audio row once, none past lastframe
    assert all(s % 8 == 0 and (e - s == 8 or e == n) for s, e in asked)  # the whole-array path's batches
    assert held <= 16 + 8 + 15 + max(pieces)


@pytest.mark.parametrize("n", [1100, 1311, 1312, 1313, 1500, 1535, 1536, 1537, 1551, 1552])
@pytest.mark.parametrize("by_video", [False, True])
def test_streamed_equals_whole_default_chunks(n, by_video):
    """The sizes score_streams uses (chunks of 512 rows, audio batches of 256), tails around their boundaries."""
    gen = torch.Generator().manual_seed(n + by_video)
    fed = n + 1 if by_video else n
    lip, aud = torch.randn(fed, D, generator=gen), torch.randn(fed, D, generator=gen)
    got, asked, held = _stream(lip, aud, n, (32, 1, 31), chunk=512, audio_batch=256)
    np.testing.assert_allclose(got, offset_distances(lip[:n], aud[:n]), rtol=1e-12, atol=0)
    assert asked[-1][1] == n and all(e <= n for _, e in asked)
    assert held <= 512 + 256 + 15 + 32


def test_lastframe_outside_the_fed_rows_is_refused():
    search = StreamingOffsets(lambda s, e: torch.zeros(e - s, D), chunk=16, audio_batch=8)
    search.add(torch.zeros(100, D))
    with pytest.raises(ValueError, match="lastframe"):
        search.finish(101)
