"""Sleeping on the emulated clock (EmulatedClock's `sleep`, `wait_until`, `look_after`): localaws/clock.py explains
the clock, jumping when idle and looking."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from localaws.clock_jumps import Jumps

_MAX_SLICE = 0.25  # wall seconds a sleeper waits before re-checking (catches speed changes and stop flags)


class Waits(Jumps):
    """EmulatedClock's sleeping on the clock (localaws/clock.py holds the state)."""

    _speed: float

    if TYPE_CHECKING:

        def now(self) -> datetime: ...

        def _hard_frozen(self) -> bool: ...

        def _notify(self) -> None: ...

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self.wait_until(self.now() + timedelta(seconds=seconds))

    def wait_until(
        self, when: datetime, event: threading.Event | None = None, stop: Callable[[], bool] | None = None
    ) -> bool:
        """Block until emulated `when`; True when reached, False when `event` was set or `stop()` held first
        (both are checked every 50 ms of wall time)."""
        with self._sleeping(when, event, epoch=True):
            return bool(self._wait_until(when, event, stop))

    def look_after(self, when: datetime, seen: int | None = None, stop: Callable[[], bool] | None = None) -> int:
        """For a watcher on a clock that jumps when idle (a test polling /status until a state): sleep until
        emulated `when`, or until the clock is about to jump and something may have changed since the watcher
        last looked at epoch `seen` (None: it has not looked yet), or `stop()` holds, or jumping is turned off
        (then poll as before). Returns the epoch to pass as `seen` after looking.

        The epoch counts jumps, `advance()`s, a thread going to sleep on the clock other than in look_after
        (it was running, so it may have changed something) and drivers' `release()`s, not API calls: what a
        watcher's own look does (a /status call, a Lambda behind it) does not make the other watchers look
        again. So a watcher looks once per moment something ran, just before time moves on, instead of every
        few emulated seconds, each look a jump of its own (a 2-second poll over an idle hour: 1,800 jumps and
        /status calls; looking: one per alarm round). A watcher that is not a driver should `hold()` while it
        looks, or the clock may jump before its call lands."""
        token = object()
        with self._cond:
            self._lookers[token] = seen
        try:
            with self._sleeping(when, None, epoch=False):
                self._wait_until(when, None, stop, look=token)
        finally:
            with self._cond:
                self._lookers.pop(token, None)
                self._look_now.discard(token)
                self._cond.notify_all()  # a jump waits for every watcher told to look to be awake
        return self.epoch

    @contextmanager
    def _sleeping(self, when: datetime | None, event: threading.Event | None, epoch: bool) -> Iterator[None]:
        """This thread sleeps on the clock for the block (until `when`; None: on another thread, `blocked`), its
        own pauses given up and its callers lent (clock_calls.py) meanwhile. It counts as asleep, with its
        deadline, from before it gives them up, and as starting from its wake until it has them back: in either
        gap, with the pauses dropped and the callers still asleep, the clock would otherwise be idle and could
        jump to another sleeper's deadline past this one (review2-s23 finding 1: a 60 s cold start that ended a
        day later when the woken thread was not scheduled within idle_settle)."""
        token, me = object(), threading.get_ident()
        with self._cond:
            if when is not None:
                self._deadlines[token] = when
            if event is not None:
                self._events[token] = event
            self._asleep[me] = self._asleep.get(me, 0) + 1
            self._changed = time.monotonic()
            if epoch:
                self.epoch += 1  # it ran until now: a watcher may find something changed
        own = self._release_own()  # sleeping while holding a pause would wait on itself
        lent = self._lend()
        try:
            yield
        finally:
            with self._cond:
                self._deadlines.pop(token, None)
                self._events.pop(token, None)
                self._asleep[me] -= 1
                if not self._asleep[me]:
                    del self._asleep[me]
                self._starting += 1  # awake: running from here, its pauses and its callers' not back yet
                self._changed = time.monotonic()
            try:
                self._unlend(lent)
                self._reacquire_own(own)
            finally:
                with self._cond:
                    self._starting -= 1
                    self._changed = time.monotonic()  # awake again: it may be about to act
                    self._cond.notify_all()

    def _wait_until(
        self,
        when: datetime,
        event: threading.Event | None,
        stop: Callable[[], bool] | None,
        look: object | None = None,
    ) -> bool | None:
        """True when `when` was reached, False when `event` or `stop` ended the wait; with `look` (a token in
        `_lookers`), None when told to look or jumping was turned off. Inside `_sleeping`."""
        while True:
            if (event is not None and event.is_set()) or (stop is not None and stop()):
                return False
            with self._cond:
                if look is not None and (look in self._look_now or not self._jump):
                    return None
                remaining = (when - self._now_locked()).total_seconds()
                if remaining <= 0:
                    return True
                jumped = self._jump and self._jump_if_idle_locked()
                if not jumped:
                    cap = _MAX_SLICE if event is None and stop is None else 0.05
                    settling = self._settle_left_locked() if self._jump else None
                    if settling is not None:  # idle but for the settle: look again the moment it has passed
                        cap = min(cap, settling + 0.001)
                    self._cond.wait(min(self._wall_until_locked(remaining), cap))
            if jumped:
                self._notify()  # outside the lock, as after advance()

    def _wall_until_locked(self, remaining: float) -> float:
        """Wall seconds until `remaining` emulated seconds have passed, if no pause starts or ends."""
        if self._hard_frozen():
            return _MAX_SLICE  # frozen: a change of pause state notifies the sleepers
        frozen_left = max(0.0, self._frozen_until - time.monotonic())
        return frozen_left + remaining / self._speed

    def wait_seconds(self, seconds: float, event: threading.Event | None = None) -> bool:
        return self.wait_until(self.now() + timedelta(seconds=max(seconds, 0)), event)
