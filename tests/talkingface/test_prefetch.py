"""prefetch: items made on a thread ahead of the consumer; errors reach the consumer, closing stops the producer."""
from __future__ import annotations

import pytest

from talkingface.media.prefetch import prefetch


def test_prefetch_keeps_order_and_depth_zero_is_inline():
    assert list(prefetch(iter(range(10)), 3)) == list(range(10))
    assert list(prefetch(iter(range(3)), 0)) == [0, 1, 2]


def test_prefetch_forwards_errors_and_stops_early():
    def items():
        yield 1
        yield 2
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        list(prefetch(items(), 1))
    closed = []

    def endless():
        try:
            i = 0
            while True:
                i += 1
                yield i
        finally:
            closed.append(True)

    gen = prefetch(endless(), 2)
    assert [next(gen), next(gen)] == [1, 2]
    gen.close()
    assert closed == [True]          # the producer thread was stopped and its source closed
