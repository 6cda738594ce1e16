"""The streamed offset search of syncnet_python's protocol: per-offset distance sums accumulated as lip rows arrive.

syncnet_python computes all lip and audio embeddings, zero-pads the audio ones by ``vshift`` rows at both ends and
takes d[v, j] = ‖lip[v] − aud_pad[v+j] + 1e-6‖ for j = 0..2·vshift, then the mean over v. :class:`StreamingOffsets`
gives the same sums without holding either stream whole: lip rows are fed in order, audio rows are asked for in
batches as they become needed, and a lip row is committed only once the rows it sees (v − vshift .. v + vshift) are
known to lie before ``lastframe`` (the number of windows, only known when the video ends: it is at least the number
of lip rows fed minus one). The last rows are finished by :meth:`StreamingOffsets.finish` with the final
``lastframe`` and the zero padding. Rows are committed in the chunks of ``chunk`` rows counted from row 0 and the
audio rows are asked for in the batches of ``audio_batch`` rows counted from row 0 that the whole-array computation
(:func:`offset_distances`, :func:`syncnet.protocol.audio_embeddings`) uses, so the numbers are the
same to the bit on a deterministic device.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch


def row_distances(lip: torch.Tensor, audp: torch.Tensor, vshift: int) -> torch.Tensor:
    """d[i, j] = ‖lip[i] − audp[i+j] + 1e-6‖ for lip (k, D) and padded audio rows audp (k + 2·vshift, D):
    (k, 2·vshift+1) float32 (syncnet_python's ``calc_pdist`` on a block of rows)."""
    shifted = audp.unfold(0, 2 * vshift + 1, 1)                        # (k, D, win) view
    return torch.linalg.vector_norm(lip[:, :, None] - shifted + 1e-6, dim=1)


def offset_distances(lip: torch.Tensor, aud: torch.Tensor, vshift: int = 15, chunk: int = 512) -> np.ndarray:
    """Mean over frames of ‖lip[v] − aud_pad[v+j] + 1e-6‖ for j = 0..2·vshift (syncnet_python's calc_pdist + mean),
    all offsets at once, on whole (n, D) embeddings; rows in chunks. Returns (2·vshift+1,) float64."""
    n = len(lip)
    audp = torch.nn.functional.pad(aud, (0, 0, vshift, vshift))
    total = torch.zeros(2 * vshift + 1, dtype=torch.float64)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        total += row_distances(lip[s:e], audp[s:e + 2 * vshift], vshift).double().sum(0)
    return (total / n).numpy()


class StreamingOffsets:
    """Accumulates the 2·vshift+1 distance sums of a stream of lip embeddings against audio embeddings computed on
    demand: ``audio_rows(s, e)`` returns audio embedding rows s..e−1 as an (e−s, D) float32 CPU tensor, and is only
    asked for rows below the final ``lastframe``. At most about ``chunk + audio_batch + vshift`` rows of each stream are
    held."""

    def __init__(self, audio_rows: Callable[[int, int], torch.Tensor], vshift: int = 15, chunk: int = 512,
                 audio_batch: int = 256):
        self.audio_rows, self.vshift, self.chunk, self.audio_batch = audio_rows, vshift, chunk, audio_batch
        self.total = torch.zeros(2 * vshift + 1, dtype=torch.float64)
        self.fed = 0                          # lip rows fed
        self.done = 0                         # lip rows committed (a multiple of chunk until finish)
        self.lip: torch.Tensor | None = None  # lip rows done..fed−1
        self.aud: torch.Tensor | None = None  # audio rows aud0..aud_end−1
        self.aud0 = self.aud_end = 0

    def add(self, rows: torch.Tensor) -> None:
        """Feed the next lip embedding rows (k, D); commits every chunk whose audio rows are certain."""
        if len(rows) == 0:
            return
        self.lip = rows if self.lip is None else torch.cat([self.lip, rows])
        self.fed += len(rows)
        safe = self.fed - 1                  # lastframe >= rows fed − 1
        ready = safe // self.audio_batch * self.audio_batch     # audio rows in complete batches below `safe`
        while self.done + self.chunk + self.vshift <= ready:
            self._audio_until(self.done + self.chunk + self.vshift, ready)
            self._commit(self.done + self.chunk, limit=None)

    def finish(self, lastframe: int) -> np.ndarray:
        """The mean distance per offset over the first ``lastframe`` lip rows ((2·vshift+1,) float64); rows fed beyond
        ``lastframe`` are dropped, audio rows at or past it are zeros."""
        low = max(1, self.aud_end, self.done + self.vshift if self.done else 0)   # rows already taken as real audio
        if not low <= lastframe <= self.fed:
            raise ValueError(f"lastframe {lastframe} outside [{low}, {self.fed}] "
                             f"({self.fed} lip rows fed, {self.done} committed)")
        self._audio_until(lastframe, lastframe)
        while self.done < lastframe:
            self._commit(min(lastframe, self.done + self.chunk), limit=lastframe)
        self.lip = self.aud = None
        return (self.total / lastframe).numpy()

    def _audio_until(self, need: int, limit: int) -> None:
        """Compute audio rows up to ``need`` (exclusive) in the batches of audio_batch rows from 0, cut at ``limit``."""
        parts = [] if self.aud is None else [self.aud]
        while self.aud_end < need:
            e = min(self.aud_end + self.audio_batch, limit)
            parts.append(self.audio_rows(self.aud_end, e))
            self.aud_end = e
        self.aud = torch.cat(parts) if len(parts) > 1 else (parts[0] if parts else None)

    def _commit(self, e: int, limit: int | None) -> None:
        """Add the distances of lip rows done..e−1; audio rows at or past ``limit`` (None: all needed are there) are
        zeros, as are those before row 0."""
        s, v = self.done, self.vshift
        lo, hi = s - v, e + v
        top = hi if limit is None else min(hi, limit)
        assert self.aud is not None and self.aud0 <= max(lo, 0) and top <= self.aud_end
        block = self.aud[max(lo, 0) - self.aud0: top - self.aud0]
        audp = torch.nn.functional.pad(block, (0, 0, max(0, -lo), hi - top))
        d = row_distances(self.lip[: e - s], audp, v)
        self.total += d.double().sum(0)
        self.lip = self.lip[e - s:]
        keep = e - v                          # the next block starts at row e − vshift
        if keep > self.aud0:
            self.aud = self.aud[keep - self.aud0:].clone() if keep < self.aud_end else self.aud[:0]
            self.aud0 = keep if keep < self.aud_end else self.aud_end
        self.done = e
