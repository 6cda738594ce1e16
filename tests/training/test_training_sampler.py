"""ShardSampler: shards disjoint and covering whole global batches, order from (seed, epoch) only, resumable."""
import pytest

from talkingface.errors import ConfigError
from talkingface.training import ShardSampler


def test_shards_are_disjoint_and_cover_the_epoch_in_whole_global_batches():
    size, batch, world = 50, 3, 4                    # 50 // 12 = 4 global batches; 2 samples dropped
    shards = [ShardSampler(size, batch, world, r, seed=5) for r in range(world)]
    for s in shards:
        s.set_epoch(3)
    got = [s.indices() for s in shards]
    assert all(len(g) == 4 * batch == len(s) for g, s in zip(got, shards, strict=True))
    flat = [i for g in got for i in g]
    assert len(set(flat)) == len(flat) == 48
    order = shards[0].order(3)
    for j in range(4):                                # batch j of all ranks == one process's batch j of 12
        together = sorted(i for g in got for i in g[j * batch:(j + 1) * batch])
        assert together == sorted(order[j * 12:(j + 1) * 12])
    one = ShardSampler(size, batch * world, 1, 0, seed=5)
    one.set_epoch(3)
    assert one.indices() == order[:48]


def test_order_depends_on_seed_and_epoch_only():
    a, b = ShardSampler(40, 4, seed=1), ShardSampler(40, 4, seed=1)
    assert a.order(0) == b.order(0) != a.order(1)
    assert ShardSampler(40, 4, seed=2).order(0) != a.order(0)
    assert sorted(a.order(0)) == list(range(40))
    assert ShardSampler(40, 2, world_size=2, rank=1, seed=1).order(0) == a.order(0)


def test_skip_resumes_with_exactly_the_remaining_batches_and_state_round_trips():
    s = ShardSampler(40, 4, world_size=2, rank=1, seed=9)
    s.set_epoch(2)
    full = s.indices()
    s.skip_batches(3)
    assert s.indices() == full[12:] and len(s) == len(full) - 12
    t = ShardSampler(40, 4, world_size=2, rank=1, seed=9)
    t.load_state_dict(s.state_dict())
    assert t.indices() == full[12:] and t.epoch == 2
    s.set_epoch(3)
    assert s.start_batch == 0


def test_state_from_another_world_size_or_too_little_data_is_refused():
    s = ShardSampler(40, 4, world_size=2, rank=0)
    with pytest.raises(ConfigError, match="world_size 2 -> 1"):
        ShardSampler(40, 4).load_state_dict(s.state_dict())
    with pytest.raises(ConfigError, match="fewer than one global batch"):
        ShardSampler(7, 4, world_size=2)
    with pytest.raises(ConfigError):
        s.skip_batches(99)
