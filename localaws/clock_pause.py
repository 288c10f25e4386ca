"""A soft pause of the emulated clock held for work that spans threads (localaws/clock.py explains pauses)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from localaws.clock import EmulatedClock


class SharedPause:
    """A soft pause held for a piece of work that spans threads rather than by one thread: a Step Functions
    execution (moto evaluates its states in threads of their own), or a thread starting another that must
    count as running before the new one holds its own pause. `start()`/`stop()` take and drop it from any
    thread; a thread of that work that waits on the clock (a Wait state, a Retry backoff) runs inside
    `suspended()`, so the work is idle meanwhile and the clock may jump to its deadline. Suspensions count:
    two branches waiting at once leave it dropped until both resumed."""

    def __init__(self, clock: EmulatedClock) -> None:
        self._clock = clock
        self._token: object | None = None
        self._held = False
        self._suspended = 0
        self._lock = threading.Lock()

    def _apply(self) -> None:
        want = self._held and not self._suspended
        with self._clock._cond:
            if want and self._token is None:
                self._token = object()
                self._clock._change_locked(add_soft=(self._token,))
            elif not want and self._token is not None:
                self._clock._change_locked(drop_soft=(self._token,))
                self._token = None

    def start(self) -> SharedPause:
        with self._lock:
            self._held = True
            self._apply()
        return self

    def stop(self) -> None:
        with self._lock:
            self._held = False
            self._apply()

    @contextmanager
    def suspended(self) -> Iterator[None]:
        with self._lock:
            self._suspended += 1
            self._apply()
        try:
            yield
        finally:
            with self._lock:
                self._suspended -= 1
                self._apply()

    @contextmanager
    def joined(self) -> Iterator[None]:
        """For the block, this thread does the work: while a call it made waits on a thread that sleeps on the
        clock (EmulatedClock.serving: a Step Functions task's Lambda waiting on a cold fallback), the work is
        idle, as in `suspended()`."""
        clock, me = self._clock, threading.get_ident()
        with clock._cond:
            previous = clock.work_of.get(me)
            clock.work_of[me] = self
        try:
            yield
        finally:
            with clock._cond:
                clock.work_of.pop(me, None)
                if previous is not None:
                    clock.work_of[me] = previous
