"""Waiting in wall time for what the emulator does on its own threads. Emulated time passes meanwhile unless the
test holds it still, and a wait the test means to take no emulated time holds it with `held_still`: a hard pause
(`clock.paused()`) holds for at most the clock's hard_pause_limit (60 wall s; localaws/clock.py), after which time
runs on at speed, so it only suits waits far shorter than that. The wall limits only stop a hang: a test worker
sharing a loaded machine may need long."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
