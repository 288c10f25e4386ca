"""A call another thread of this process waits on, on the emulated clock (EmulatedClock's `serving`, `holding`).

A thread that serves a call (the emulator's HTTP server answering an API call, localaws/calls.py) and sleeps on
the clock inside it (a serverless cold start) keeps the caller waiting: the caller's own pauses (a Lambda
handler's, the replay's request) would freeze the clock for soft_pause_limit, then let it run but never jump, so
each such wait cost seconds of wall time and a replayed week minutes. With `serving(caller)` the caller counts as
sleeping on the clock too while the serving thread sleeps (its soft pauses dropped, as a driver asleep): what the
caller waits for is then what AWS makes it wait for, and an idle clock jumps to it. So does the caller's caller
when the caller itself answers a call (a Step Functions task invoking a Lambda whose handler waits on a cold
fallback), and the shared pause of the work each of them does (clock_pause.SharedPause.joined). A thread blocked
on another thread of the emulator (`holding` a ClockLock: a serverless endpoint's one container, which serves one
request at a time, localaws/sagemaker_serverless.py) is idle the same way.

A caller is lent for as long as its call is open (calls.Call): one that gives up (a read timeout) is awake again at
once, its pauses back, and so is every caller up the chain from it (review2-s23 finding 6).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from localaws.calls import Call


class ClockLock:
    """A lock threads of the emulator wait for on the clock (`Calls.holding`; its counts under the clock's lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queued = 0  # threads waiting for it in `holding`
        self.handed = 0  # releases to a queued thread that has not taken it yet (each one counted starting)


class Lent:
    """The callers a thread sleeping on the clock lends its sleep to, up the chain (its caller, that one's, ...): the
    first `live` of them are lent; giving back from `i` on (the call of the i-th closed) leaves the first i."""

    def __init__(self) -> None:
        self.idents: list[int] = []  # who waits
        self.calls: list[Call] = []  # on which call (lent while it is open: its thread may end inside it)
        self.callbacks: list[Callable[[], None]] = []  # what each call runs when it closes (forgotten after)
        self.tokens: list[tuple[object, ...]] = []  # the soft pauses of theirs dropped
        self.work: list[Any] = []  # the shared pause of the work each does (SharedPause), or None
        self.idle: list[ExitStack] = []  # that shared pause suspended, once it is
        self.live = 0
        self.lock = threading.Lock()  # orders suspending the shared pauses with giving them back


class Calls:
    """EmulatedClock's side of calls between its process's threads (localaws/clock.py holds the state)."""

    _cond: threading.Condition
    _soft: dict[object, float]
    _soft_owner: dict[object, int]
    _asleep: dict[int, int]
    _lent: dict[int, list[Call]]  # a caller lent a sleep -> the calls it was lent through (one per sleeper)
    _starting: int
    _changed: float
    _callers: dict[int, Call]  # a thread answering a call (`serving`) -> that call
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
    def serving(self, caller: Call | None) -> Iterator[None]:
        """This thread answers `caller` (a call from a thread of this process, calls.caller; None: from another
        process), for the block."""
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
        may sleep on the clock: the request ahead in a serverless endpoint's cold start), not for time: it and
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
        lent = Lent()
        with self._cond:
            call, seen = self._callers.get(me), {me}
            while call is not None and call.thread.ident is not None and call.thread.ident not in seen:
                ident = call.thread.ident
                give_back = partial(self._give_back, lent, len(lent.idents))
                if not call.when_closed(give_back):
                    break  # over: its thread runs (or has ended), and so does any caller up the chain from it
                tokens = tuple(t for t, owner in self._soft_owner.items() if owner == ident and t in self._soft)
                self._lent.setdefault(ident, []).append(call)
                self._change_locked(drop_soft=tokens)
                lent.idents.append(ident)
                lent.calls.append(call)
                lent.callbacks.append(give_back)
                lent.tokens.append(tokens)
                lent.work.append(self.work_of.get(ident))
                lent.live += 1
                seen.add(ident)
                call = self._callers.get(ident)
            if not lent.live:
                return None
        with lent.lock:  # outside the clock's lock: a shared pause takes its own lock, then the clock's
            for i, pause in enumerate(lent.work):
                idle = ExitStack()
                with self._cond:
                    given_back = i >= lent.live
                if pause is not None and not given_back:
                    idle.enter_context(pause.suspended())
                lent.idle.append(idle)
        return lent

    def _give_back(self, lent: Lent, start: int) -> None:
        """The callers from `start` on wait no more (their call closed, or this thread woke): awake, their pauses
        back (those they still hold: one that gave up has closed its own), their shared pauses resumed."""
        with self._cond:
            if start >= lent.live:
                return
            end, lent.live = lent.live, start
            self._starting += 1  # running from here: no jump before they have their pauses back
        try:
            with lent.lock:
                for idle in lent.idle[start:end]:
                    idle.close()
        finally:
            with self._cond:
                for ident, call, tokens in zip(
                    lent.idents[start:end], lent.calls[start:end], lent.tokens[start:end], strict=True
                ):
                    self._lent[ident].remove(call)
                    if not self._lent[ident]:
                        del self._lent[ident]
                    self._change_locked(add_soft=tuple(t for t in tokens if t in self._soft_owner))
                self._starting -= 1
                self._changed = time.monotonic()
                self._cond.notify_all()  # the sleepers look again

    def _unlend(self, lent: Lent | None) -> None:
        if lent is not None:
            self._give_back(lent, 0)
            for call, give_back in zip(lent.calls, lent.callbacks, strict=True):
                call.forget(give_back)  # the call may stay open long after (review2-s24 finding 6)

    def _counts_asleep_locked(self, ident: int) -> bool:
        """Whether thread `ident` sleeps on the clock or waits on a call that does: lent through a call still open.
        Per call, not per ident: a caller whose thread ended inside its call (no response-received) stays lent until
        the sleep ends, and a new thread may reuse its ident (review2-s24 finding 5)."""
        return ident in self._asleep or any(call.open for call in self._lent.get(ident, ()))
