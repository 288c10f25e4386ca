"""A call another thread of this process waits on, on the emulated clock (EmulatedClock's `serving`, `holding`).

A thread that serves a call (the emulator's HTTP server answering an API call, localaws/calls.py) and sleeps on
the clock inside it (a serverless cold start) keeps the caller waiting: the caller's own pauses (a Lambda
handler's, the replay's request) would freeze the clock for soft_pause_limit, then let it run but never jump, so
each such wait cost seconds of wall time and a replayed week minutes. With `serving(caller)` the caller counts as
sleeping on the clock too while the serving thread sleeps (its soft pauses dropped, as a driver asleep): what the
caller waits for is then what AWS makes it wait for, and an idle clock jumps to it. So does the caller's caller
when the caller itself answers a call (a Step Functions task invoking a Lambda whose handler waits on a cold
fallback), and the shared pause of the work each of them does (clock_pause.SharedPause.joined). A thread blocked
on another thread of the emulator (`holding` a ClockLock: a Lambda container's lock) is idle the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any


class ClockLock:
    """A lock threads of the emulator wait for on the clock (`Calls.holding`; its counts under the clock's lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queued = 0  # threads waiting for it in `holding`
        self.handed = 0  # releases to a queued thread that has not taken it yet (each one counted starting)


Lent = tuple[list[int], tuple[object, ...], ExitStack]  # who waits, the pauses dropped, the shared ones idled


class Calls:
    """EmulatedClock's side of calls between its process's threads (localaws/clock.py holds the state)."""

    _cond: threading.Condition
    _soft: dict[object, float]
    _soft_owner: dict[object, int]
    _asleep: dict[int, int]
    _starting: int
    _changed: float
    _callers: dict[int, int]  # a thread answering a call (`serving`) -> the thread waiting on it
    work_of: dict[int, Any]  # a thread -> the shared pause of the work it does (SharedPause.joined)

    if TYPE_CHECKING:

        def _release_own(self) -> tuple[int, tuple[object, ...]]: ...

        def _reacquire_own(self, own: tuple[int, tuple[object, ...]]) -> None: ...

        def _sleeping(
            self, when: datetime | None, event: threading.Event | None, epoch: bool
        ) -> AbstractContextManager[None]: ...

        def _change_locked(
            self, hard: int = 0, add_soft: tuple[object, ...] = (), drop_soft: tuple[object, ...] = ()
        ) -> None: ...

    @contextmanager
    def serving(self, caller: int | None) -> Iterator[None]:
        """This thread answers a call thread `caller` (an ident in this process, None: another process) is
        blocked on, for the block."""
        me = threading.get_ident()
        with self._cond:
            previous = self._callers.pop(me, None)
            if caller is not None:
                self._callers[me] = caller
        try:
            yield
        finally:
            with self._cond:
                self._callers.pop(me, None)
                if previous is not None:
                    self._callers[me] = previous

    @contextmanager
    def holding(self, lock: ClockLock) -> Iterator[None]:
        """Hold `lock` for the block. While it waits for the lock, this thread waits for another (the holder, which
        may sleep on the clock: a Lambda container's handler waiting on a cold fallback), not for time: it and
        the callers waiting on it count as asleep on the clock, their pauses dropped, so the clock jumps when the
        holder sleeps on it. The lock is handed over on the clock: a release with a thread queued counts that
        thread as starting until it has the lock and its pauses back, so the clock cannot jump between the
        holder's last pause and the queued thread's first (review2-s23 finding 2)."""
        acquired = handed = False
        with self._cond:
            lock.queued += 1
        try:
            with self._sleeping(None, None, epoch=False):
                lock.lock.acquire()
                acquired = True
                with self._cond:
                    lock.queued -= 1
                    if lock.handed:  # the release counted this thread as starting: it stays so until it runs
                        lock.handed -= 1
                        handed = True
        except BaseException:
            if acquired:
                lock.lock.release()
            raise
        finally:
            with self._cond:
                if not acquired:
                    lock.queued -= 1
                    if lock.handed > lock.queued:  # handed to this thread, which gave up: to nobody
                        lock.handed -= 1
                        handed = True
                if handed:
                    self._starting -= 1
                    self._changed = time.monotonic()
                    self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                if lock.queued > lock.handed:
                    lock.handed += 1
                    self._starting += 1
                lock.lock.release()

    def _lend(self) -> Lent | None:
        me = threading.get_ident()
        with self._cond:
            waiting: list[int] = []  # the caller, its caller, ...
            caller = self._callers.get(me)
            while caller is not None and caller != me and caller not in waiting:
                waiting.append(caller)
                caller = self._callers.get(caller)
            if not waiting:
                return None
            tokens = tuple(t for t, owner in self._soft_owner.items() if owner in waiting and t in self._soft)
            for ident in waiting:
                self._asleep[ident] = self._asleep.get(ident, 0) + 1
            self._change_locked(drop_soft=tokens)
            shared = {id(p): p for p in (self.work_of.get(ident) for ident in waiting) if p is not None}
        idle = ExitStack()  # outside the lock: a shared pause takes its own lock, then the clock's
        for pause in shared.values():
            idle.enter_context(pause.suspended())
        return waiting, tokens, idle

    def _unlend(self, lent: Lent | None) -> None:
        if lent is None:
            return
        waiting, tokens, idle = lent
        idle.close()
        with self._cond:
            for ident in waiting:
                self._asleep[ident] -= 1
                if not self._asleep[ident]:
                    del self._asleep[ident]
            # Back to the callers' pauses they still hold (a caller that gave up meanwhile has closed its own).
            self._change_locked(add_soft=tuple(t for t in tokens if t in self._soft_owner))
