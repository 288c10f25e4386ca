"""Waiting in wall time for what the emulator does on its own threads. Emulated time passes meanwhile unless the
test holds it still, and a wait the test means to take no emulated time holds it with `held_still`: a hard pause
(`clock.paused()`) holds for at most the clock's hard_pause_limit (60 wall s; localaws/clock.py), after which time
runs on at speed, so it only suits waits far shorter than that. The wall limits only stop a hang: a test worker
sharing a loaded machine may need long."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from localaws.clock import EmulatedClock

CRAWL = 1e-4  # emulated seconds per wall second while held still: a wall day is under 9 emulated seconds


def eventually(predicate: Callable[[], bool], wall: float = 30.0, poll: float = 0.05) -> bool:
    """Whether `predicate` held within `wall` seconds of wall time, asked every `poll` seconds."""
    deadline = time.monotonic() + wall
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()


@contextmanager
def held_still(clock: EmulatedClock) -> Iterator[None]:
    """Emulated time all but stands still (CRAWL x) for as long as the block takes, however long that is; the
    speed comes back after. What waits on the clock (a Step Functions Wait, a poll) waits on too, and on a jumping
    clock nothing jumps while the test, its driver, is awake in the block (tests/stacks.py)."""
    speed = clock.speed
    clock.set_speed(CRAWL)
    try:
        yield
    finally:
        clock.set_speed(speed)


def sleeping_until(clock: EmulatedClock, after: datetime, wall: float = 30.0) -> None:
    """Wait (wall time, bounded) until a thread sleeps on `clock` until later than `after`; fail with a message if
    none does: a test whose sleeper failed first ends here instead of at pytest's timeout."""
    assert eventually(lambda: any(when > after for when in clock.sleepers()), wall, poll=0.01), (
        f"no thread slept on the clock past {after:%Y-%m-%dT%H:%M:%SZ} within {wall:.0f} wall s"
    )
