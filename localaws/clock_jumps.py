"""Jumping when idle (EmulatedClock's `jump_when_idle`, `hold`, `spawn`): emulated time jumps to the earliest
deadline a thread sleeps on the clock for when nothing runs (localaws/clock.py's docstring says when that is)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from localaws.clock_calls import Calls


class Jumps(Calls):
    """EmulatedClock's jumps when idle and the threads that count as running (localaws/clock.py holds the state)."""

    _jump: bool
    idle_settle: float
    _deadlines: dict[object, datetime]
    _drivers: dict[int, int]  # thread ident -> hold() count
    _hard: int
    _frozen_until: float
    epoch: int
    _lookers: dict[object, int | None]
    _look_now: set[object]
    _events: dict[object, threading.Event]
    jumped: timedelta
    jumps: int

    if TYPE_CHECKING:

        def _now_locked(self) -> datetime: ...

        def _reanchor(self, emu: datetime) -> None: ...

    def jump_when_idle(self, on: bool = True) -> None:
        """Let emulated time jump to the next deadline whenever nothing runs (see the module docstring)."""
        with self._cond:
            self._jump = on
            self._changed = time.monotonic()
            self._cond.notify_all()

    @property
    def jumps_when_idle(self) -> bool:
        return self._jump

    def hold(self) -> None:
        """This thread drives (a test, a replay): no jump while it is awake, that is, not sleeping on the
        clock. Nests; undo with `release()`."""
        me = threading.get_ident()
        with self._cond:
            self._drivers[me] = self._drivers.get(me, 0) + 1
            self._changed = time.monotonic()

    def release(self) -> None:
        me = threading.get_ident()
        with self._cond:
            if not self._drivers.get(me):
                raise RuntimeError("release() without hold() in this thread")
            self._drivers[me] -= 1
            if not self._drivers[me]:
                del self._drivers[me]
            self._changed = time.monotonic()
            self.epoch += 1
            self._cond.notify_all()

    @contextmanager
    def held(self) -> Iterator[None]:
        """`hold()` for the block."""
        self.hold()
        try:
            yield
        finally:
            self.release()

    @contextmanager
    def jumping(self) -> Iterator[None]:
        """For the block, this thread drives (`held()`) and time jumps whenever nothing runs; then as before. What
        a test or a demo wraps around idle stretches it waits out on the clock (`wait_until`, `sleep`, polling
        through `Emulator.wait_for`): every schedule and alarm round fires at its own time, and no wall time is
        spent between them (an `advance()` over the stretch fired what fell due only after it, all at once)."""
        was = self._jump
        self.hold()
        self.jump_when_idle(True)
        try:
            yield
        finally:
            self.jump_when_idle(was)
            self.release()

    def spawn(self, target: Callable[..., object], *args: object, name: str) -> threading.Thread:
        """Start a daemon thread that counts as running work, as a driver does, from now until it ends (see
        the module docstring): idle only while it sleeps on the clock."""
        with self._cond:
            self._starting += 1
            self._changed = time.monotonic()

        def run() -> None:
            me = threading.get_ident()
            with self._cond:
                self._starting -= 1
                self._drivers[me] = self._drivers.get(me, 0) + 1
                self._changed = time.monotonic()
            try:
                target(*args)
            finally:
                self.release()

        thread = threading.Thread(target=run, name=name, daemon=True)
        try:
            thread.start()
        except BaseException:
            with self._cond:
                self._starting -= 1
            raise
        return thread

    def starting(self) -> None:
        """Work is about to begin in a thread that will hold a pause of its own (a Step Functions execution):
        no jump until it calls `started()` with that pause held."""
        with self._cond:
            self._starting += 1
            self._changed = time.monotonic()

    def started(self) -> None:
        with self._cond:
            self._starting -= 1
            self._changed = time.monotonic()
            self._cond.notify_all()  # the clock may be idle now: the sleepers look again

    def _settle_left_locked(self) -> float | None:
        """Wall seconds until nothing will have changed for `idle_settle` if nothing runs now; None if something
        runs (a pause held, a thread starting, a driver awake) or nothing sleeps on the clock."""
        if not (
            self._deadlines
            and not self._look_now
            # A sleeper whose event was set (a schedule created, new metric data: a kick) is about to wake and act:
            # with 10 ms of settle the clock could jump before that thread had run, past what the kick was for.
            and not any(e.is_set() for e in self._events.values())
            and not self._starting
            and not self._hard
            and not self._soft
            and time.monotonic() >= self._frozen_until
            and all(self._counts_asleep_locked(ident) for ident in self._drivers)
        ):
            return None
        return max(0.0, self._changed + self.idle_settle - time.monotonic())

    def would_jump(self) -> bool:
        """Whether the clock is idle but for time: a thread sleeps on it and nothing runs (no pause held, no thread
        starting, every driver asleep), so it jumps once that has lasted idle_settle (when `jumps_when_idle`). What
        a test asserts to know the clock waits for a thread, at once rather than after a wall-time wait."""
        with self._cond:
            return self._settle_left_locked() is not None

    def _idle_locked(self) -> bool:
        return self._settle_left_locked() == 0.0

    def _jump_if_idle_locked(self) -> bool:
        """Jump to the earliest deadline if nothing runs; True when time moved."""
        if not self._idle_locked():
            return False
        now = self._now_locked()
        target = min(self._deadlines.values())
        if target <= now:
            return False
        stale = {t for t, seen in self._lookers.items() if seen != self.epoch and t not in self._look_now}
        if stale:  # watchers look before time moves on
            self._look_now |= stale
            self._changed = time.monotonic()
            self._cond.notify_all()
            return False
        self.jumped += target - now
        self.jumps += 1
        self.epoch += 1
        self._reanchor(target)
        self._changed = time.monotonic()  # the sleepers it wakes get idle_settle to act before the next jump
        return True
