"""Hand freed heap memory back to the system (glibc ``malloc_trim``), so that long streaming runs stay flat.

glibc keeps memory freed by PyTorch's worker threads in their malloc arenas; a long run's many differently sized
temporaries fragment them and the process's peak RSS creeps up with the input's length even though nothing is kept.
Measured on `syncnet.evaluate_video` (benchmarks/bench_lse.py --long-minutes 1 5): 1155 -> 1713 MiB as is,
1202 -> 1267 MiB with one arena (MALLOC_ARENA_MAX=1), at the same speed. :func:`release_free_heap` asks glibc to
return the free pages of every arena; elsewhere (musl, macOS, Windows) it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc.malloc_trim if libc is not None and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_free_heap() -> bool:
    """``malloc_trim(0)`` where glibc has it: True if it ran."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
