"""Shards of a job (docs/scale_out.md): ``"i/n"`` labels, the items of shard i, and torchrun's ranks.

    shard = parse_shard("1/4")                  # (1, 4); a ConfigError line for "4/4", "a/b", "0/0", "1"
    mine = take_shard(items, shard)             # items[1], items[5], items[9], …
    format_shard(shard)                         # "1/4"

Under torchrun (``WORLD_SIZE`` > 1) each rank takes shard RANK/WORLD_SIZE; :func:`torchrun_rank` reads the
environment and :func:`gather_failures` lets the ranks tell each other whether they failed (gloo: a few bytes,
whatever the device, with a time limit, so a failed or stuck rank stops the others instead of hanging them).

:func:`gloo_group` holds the group for the whole command. At its end every rank meets the others at a barrier and
only then destroys its group, while the interpreter is fully alive. A rank that left its group to the interpreter's
exit (gloo's threads then release their work during finalisation) died with ``terminate called without an active
exception`` (SIGABRT): 6 runs in 20 of a two-rank toy, and once in CI; an earlier version that destroyed the group
while rank 0 still merged died the same way. With the barrier and the destroy: none in 80 runs of the toy, yet one
rank of the full test suite still aborted after both, so the commands' ``__main__`` also ends a torchrun worker with
:func:`talkingface.errors.exit_process` (``os._exit`` once the work is written), which skips that teardown.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from talkingface.errors import ConfigError, KitError, one_line

T = TypeVar("T")


def parse_shard(value) -> tuple[int, int]:
    """``"i/n"`` → (i, n) with 0 <= i < n; a ConfigError line otherwise."""
    text = str(value).strip()
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i = n = -1
    if not sep or n < 1 or not 0 <= i < n:
        raise ConfigError(f"shard: {text!r} is not i/n with 0 <= i < n (e.g. 0/4, 1/4, 2/4, 3/4: four processes "
                          f"that each take every fourth sample)")
    return i, n


def format_shard(shard: tuple[int, int]) -> str:
    return f"{shard[0]}/{shard[1]}"


def take_shard(items: Sequence[T], shard: tuple[int, int] | None) -> list[T]:
    """The items at positions i, i+n, i+2n, … of ``items`` (all of them for ``shard`` None)."""
    return list(items) if shard is None else list(items[shard[0]::shard[1]])


def torchrun_world_size() -> int:
    """``WORLD_SIZE`` of torchrun's environment (1 when unset)."""
    value = os.environ.get("WORLD_SIZE", "1")
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable WORLD_SIZE={value!r} is not an integer") from None


def torchrun_rank() -> tuple[int, int, int]:
    """(RANK, WORLD_SIZE, LOCAL_RANK) of a torchrun worker; a ConfigError when WORLD_SIZE is set without the rest."""
    missing = [v for v in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise ConfigError(f"WORLD_SIZE is set but {', '.join(missing)} not: start the run with torchrun "
                          f"(python -m torch.distributed.run) or unset WORLD_SIZE for one process")
    try:
        return int(os.environ["RANK"]), torchrun_world_size(), int(os.environ["LOCAL_RANK"])
    except ValueError:
        raise ConfigError(f"RANK={os.environ['RANK']!r} / LOCAL_RANK={os.environ['LOCAL_RANK']!r}: not integers") \
            from None


class RanksLost(KitError):
    """The other ranks did not answer within the group's timeout: one failed or is stuck."""


@contextlib.contextmanager
def gloo_group(wait_minutes: float) -> Iterator[None]:
    """The gloo process group of a torchrun command, from its start to its end (``wait_minutes``: how long a
    collective waits for the other ranks).

    On the way out, with or without an error, the rank waits at a barrier for every other rank (one may still be
    merging) and then destroys the group. After :class:`RanksLost` there is nobody to wait for and the group is left
    as it is. A group the caller initialised is the caller's: it is neither created nor destroyed here."""
    import torch.distributed as tdist

    owned = not tdist.is_initialized()
    if owned:
        tdist.init_process_group("gloo", timeout=dt.timedelta(minutes=wait_minutes))
    try:
        yield
    except RanksLost:
        owned = False
        raise
    finally:
        if owned:
            with contextlib.suppress(RuntimeError):     # a peer died after the last exchange: destroy all the same
                tdist.barrier()
            tdist.destroy_process_group()


def gather_failures(error: BaseException | None, rank: int, world: int, wait_minutes: float,
                    resume: str = "run the command again to resume") -> list[str]:
    """Tell the other ranks whether this one failed (``error``) and learn whether they did, over the initialised
    process group: ``["shard 1/4 failed: KitError: …", …]`` for the other ranks that failed (empty when none did).
    A KitError when the others do not answer within the group's timeout (``wait_minutes``, given to
    ``init_process_group``): a rank failed or is stuck."""
    import torch.distributed as tdist

    label = format_shard((rank, world))
    statuses: list = [None] * world
    try:
        tdist.all_gather_object(statuses, None if error is None else f"{type(error).__name__}: {one_line(error)}")
    except RuntimeError as exc:
        raise RanksLost(f"shard {label}: gave up waiting for the other ranks after at most {wait_minutes:g} min "
                       f"({one_line(exc)}); a rank failed or is slower than --shard_wait_minutes: {resume}") \
            from error
    return [f"shard {format_shard((r, world))} failed: {s}" for r, s in enumerate(statuses) if s and r != rank]


def torchrun_shards(open_shard: Callable[[tuple[int, int]], Any], make: Callable[[Any], Any],
                    merge: Callable[[], int], wait_minutes: float, log: Callable[..., None]) -> int:
    """A generation command under torchrun: every rank makes shard RANK/WORLD_SIZE, then rank 0 merges.

    ``open_shard(shard)`` checks the inputs and the shard's output folder and returns the folder; ``make(folder)``
    loads the model and makes the shard; ``merge()`` (rank 0) folds the shards' records and makes what no shard made,
    returning the exit status. After each of the two steps the ranks tell each other whether they failed (gloo, at
    most ``wait_minutes``): a failure anywhere stops every rank before the merge. The other ranks wait for the merge
    to end before they leave (:func:`gloo_group`). ``log(msg, *args)`` gets rank > 0's last line.
    """
    rank, world, _ = torchrun_rank()
    resume = "the outputs made are kept: run the command again to resume"
    folder = None
    with gloo_group(wait_minutes):
        for step in ("open", "make"):
            error = None
            try:
                if step == "open":
                    folder = open_shard((rank, world))
                else:
                    make(folder)
            except Exception as exc:  # noqa: BLE001 - every failure is told to the other ranks, then raised here
                error = exc
            failed = gather_failures(error, rank, world, wait_minutes, resume=resume)
            if error is not None:
                raise error
            if failed:
                raise KitError("; ".join(failed) + f"; nothing merged ({resume})")
        if rank != 0:
            log("shard %s: rank 0 merges the shards into %s", format_shard((rank, world)),
                folder.folder / "provenance.json")
            return 0
        return merge()


__all__ = ["RanksLost", "format_shard", "gather_failures", "gloo_group", "parse_shard", "take_shard", "torchrun_rank",
           "torchrun_shards", "torchrun_world_size"]
