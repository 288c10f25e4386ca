"""One emulated clock with a speed factor, shared by every emulated service and the Lambda handlers.

Emulated time runs `speed` times faster than the wall clock. Real work would look `speed` times slower
in emulated seconds, so it pauses the clock: a hard pause (a model load, a deploy) freezes time; a soft
pause (an API call, a Lambda handler, Step Functions interpreting states) freezes it for at most
`soft_pause_limit` wall seconds, after which time runs again, so a chain of calls that waits on emulated
time (a Lambda sleeping while another waits for it) can never freeze the clock for good. A thread that
sleeps on the clock gives up its own pauses meanwhile. `advance()` jumps ahead; sleepers wake at once.

Jumping when idle (`jump_when_idle(True)`, off by default): when nothing is running, emulated time jumps to
the earliest deadline a thread sleeps on the clock for (a schedule, a Step Functions Wait, a polling loop), as
a discrete-event simulator advances to its next event. "Nothing is running" means: no pause is held (no API
call, handler or model load in progress), every thread that declared itself a driver with `hold()` is asleep
on the clock, at least one thread sleeps on it, and none of this changed for `idle_settle` wall seconds (a
thread between two calls has that long to make its next one). A driver is awake from `hold()` until
`release()` except while it sleeps on the clock: so a test or replay thread that polls (`sleep`, `wait_until`)
is idle only inside those calls, never between them. A thread the emulator starts for work of its own (an
asynchronous Lambda invocation, a provisioning) is started with `spawn()`: it counts as running from the moment
it is created until it ends, except while it sleeps on the clock, so no jump slips in before it has begun.
A jump costs about `idle_settle` (10 ms) of wall time: the sleeper that makes the clock idle waits exactly that
long, then jumps. A thread polling for a state on a jumping clock looks with `look_after`: once each time the
clock is about to jump after something ran, so its polls add no jumps of their own.

Differs from AWS: with pauses, API calls and handlers take no emulated time (AWS: tens of ms); beyond the
soft limit, host speed shows up in emulated time again (scaled by `speed`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from localaws.clock_calls import Calls

_MAX_SLICE = 0.25  # wall seconds a sleeper waits before re-checking (catches speed changes and stop flags)


class EmulatedClock(Calls):
    """Emulated time = start + (running wall seconds) * speed, plus any `advance()` jumps."""

    def __init__(
        self,
        start: datetime | None = None,
        speed: float = 1.0,
        soft_pause_limit: float = 2.0,
        hard_pause_limit: float = 60.0,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._cond = threading.Condition()
        self._anchor_wall = time.monotonic()
        self._anchor_emu = start.astimezone(UTC)
        self._speed = float(speed)
        self.soft_pause_limit = soft_pause_limit
        # Safety net: no hard pause (model load, deploy) takes a minute of wall time, so one that does is held
        # by a thread stuck waiting for emulated time; letting time run again then beats freezing for good.
        self.hard_pause_limit = hard_pause_limit
        self._hard = 0  # nesting count over all threads
        self._hard_since = float("-inf")  # wall time the current hard pause began
        self._soft: dict[object, float] = {}  # active soft pauses -> wall time they (re)started
        self._soft_owner: dict[object, int] = {}  # a thread's own soft pause (paused()) -> that thread's ident
        self._frozen_until = float("-inf")  # wall time the youngest soft pause stops freezing the clock
        self._local = threading.local()  # this thread's own hard count and soft pauses
        self._listeners: list[Callable[[], None]] = []
        # Jumping when idle (off by default): see the module docstring.
        self._jump = False
        self.idle_settle = 0.01  # wall seconds nothing may change before a jump (each jump costs about this)
        self._deadlines: dict[object, datetime] = {}  # sleeping on the clock -> until when
        self._drivers: dict[int, int] = {}  # thread ident -> hold() count
        self._starting = 0  # threads spawn()ed that have not begun to run yet
        self._asleep: dict[int, int] = {}  # thread ident -> how many of its waits are under way (0 or 1)
        self._changed = time.monotonic()  # wall time of the last pause, sleep or wake-up
        # Looking (`look_after`): `epoch` counts what may have changed something a watcher reads (see there).
        self.epoch = 0
        self._lookers: dict[object, int | None] = {}  # a thread in look_after -> the epoch it last looked at
        self._look_now: set[object] = set()  # lookers told to look before the next jump
        self._events: dict[object, threading.Event] = {}  # the events sleepers wait on too (a kick wakes them)
        self._callers: dict[int, int] = {}  # calls between its threads: localaws/clock_calls.py
        self.work_of: dict[int, Any] = {}
        self.jumped = timedelta(0)  # emulated time skipped by idle jumps, in all
        self.jumps = 0  # how many idle jumps: each costs about idle_settle of wall time (what a replay pays)

    # -- reading -----------------------------------------------------------------------------------------
    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        """Timezone-aware emulated time (UTC)."""
        with self._cond:
            return self._now_locked()

    def _hard_frozen(self) -> bool:
        return bool(self._hard) and time.monotonic() - self._hard_since < self.hard_pause_limit

    def _now_locked(self) -> datetime:
        if self._hard_frozen():
            return self._anchor_emu
        resumed = self._hard_since + self.hard_pause_limit if self._hard else float("-inf")
        running = time.monotonic() - max(self._anchor_wall, self._frozen_until, resumed)
        return self._anchor_emu + timedelta(seconds=max(0.0, running) * self._speed)

    def time(self) -> float:
        """Emulated epoch seconds (a stand-in for `time.time()`)."""
        return self.now().timestamp()

    def wall_seconds(self, emulated_seconds: float) -> float:
        return emulated_seconds / self._speed

    @property
    def is_paused(self) -> bool:
        return self._hard_frozen() or time.monotonic() < self._frozen_until

    # -- changing ----------------------------------------------------------------------------------------
    def _reanchor(self, emu: datetime) -> None:
        self._anchor_wall = time.monotonic()
        self._anchor_emu = emu
        self._frozen_until = max(self._soft.values(), default=float("-inf")) + self.soft_pause_limit
        self._cond.notify_all()

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        with self._cond:
            now = self._now_locked()
            self._speed = float(speed)
            self._reanchor(now)
        self._notify()

    def advance(self, seconds: float | timedelta) -> datetime:
        """Jump ahead; sleepers whose deadline passed wake at once. Returns the new time."""
        delta = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        with self._cond:
            self.epoch += 1
            self._reanchor(self._now_locked() + delta)
            new = self._anchor_emu
        self._notify()
        return new

    def advance_to(self, when: datetime) -> datetime:
        now = self.now()
        return self.advance(max(when - now, timedelta(0)))

    def sleepers(self) -> list[datetime]:
        """Until when each thread asleep on the clock sleeps (emulated), earliest first: what a test waits on to know a
        call has reached its wait."""
        with self._cond:
            return sorted(self._deadlines.values())

    def quiet(self) -> bool:
        """Nothing but the calling thread uses the clock: no pause held, no thread asleep on it, starting, or
        driving (a thread the emulator spawned runs until it ends)."""
        with self._cond:
            return self._quiet_locked()

    def _quiet_locked(self) -> bool:
        return (
            not self._deadlines
            and not self._starting
            and not self._hard
            and not self._soft
            and set(self._drivers) <= {threading.get_ident()}
        )

    def rewind(self, to: datetime, speed: float | None = None) -> None:
        """Set the time back to `to` (and the speed to `speed`): only for putting a whole emulator back as it was
        at `to` (localaws.stack_reset), so it is refused unless the clock is `quiet()`: a thread asleep on the
        clock or holding a pause would wake into a past it never saw. `advance()` stays forward only."""
        if to.tzinfo is None:
            raise ValueError("to must be timezone-aware")
        if speed is not None and speed <= 0:
            raise ValueError("speed must be > 0")
        with self._cond:
            if not self._quiet_locked():
                raise RuntimeError("the clock can go back only while nothing else runs or sleeps on it")
            if speed is not None:
                self._speed = float(speed)
            self._changed = time.monotonic()
            self._reanchor(to.astimezone(UTC))
        self._notify()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Called after every `advance()`/`set_speed()`/`rewind()` (the scheduler re-plans); once however often
        it is added."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    # -- pausing -----------------------------------------------------------------------------------------
    # A soft pause freezes the clock for its first `soft_pause_limit` wall seconds only: time stands still
    # while any soft pause is younger than that. So short calls take no emulated time, while a chain of
    # calls that waits on emulated time (a Lambda sleeping while another waits for it) unfreezes itself.
    def _own_hard(self) -> int:
        return int(getattr(self._local, "hard", 0))

    def _own_soft(self) -> list[object]:
        if not hasattr(self._local, "soft"):
            self._local.soft = []
        return self._local.soft

    def _change_locked(
        self, hard: int = 0, add_soft: tuple[object, ...] = (), drop_soft: tuple[object, ...] = ()
    ) -> None:
        now = self._now_locked()
        wall = time.monotonic()
        if hard > 0 and not self._hard:
            self._hard_since = wall
        self._hard += hard
        for token in add_soft:
            self._soft[token] = wall
        for token in drop_soft:
            self._soft.pop(token, None)
        self._changed = wall
        self._reanchor(now)

    @contextmanager
    def paused(self, soft: bool = False) -> Iterator[None]:
        """Emulated time stands still while the block runs (soft: for its first soft_pause_limit seconds)."""
        token = object()
        with self._cond:
            if soft:
                self._change_locked(add_soft=(token,))
                self._soft_owner[token] = threading.get_ident()
            else:
                self._change_locked(hard=1)
        if soft:
            self._own_soft().append(token)
        else:
            self._local.hard = self._own_hard() + 1
        try:
            yield
        finally:
            if soft:
                own = self._own_soft()
                if token in own:
                    own.remove(token)
            else:
                self._local.hard = self._own_hard() - 1
            with self._cond:
                if soft:
                    self._soft_owner.pop(token, None)
                    self._change_locked(drop_soft=(token,))
                else:
                    self._change_locked(hard=-1)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Inside `paused()`, let time run again for this thread (e.g. while waiting for a provisioning
        delay). Pauses held by other threads still count."""
        own = self._release_own()
        try:
            yield
        finally:
            self._reacquire_own(own)

    def _release_own(self) -> tuple[int, tuple[object, ...]]:
        hard, soft = self._own_hard(), tuple(self._own_soft())
        if hard or soft:
            with self._cond:
                self._change_locked(hard=-hard, drop_soft=soft)
            self._local.hard = 0
        return hard, soft

    def _reacquire_own(self, own: tuple[int, tuple[object, ...]]) -> None:
        hard, soft = own
        if hard or soft:
            with self._cond:
                self._change_locked(hard=hard, add_soft=soft)  # young again: the thread resumes work
            self._local.hard = hard

    # -- waiting -----------------------------------------------------------------------------------------
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

    # -- jumping when idle -------------------------------------------------------------------------------
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
            and all(ident in self._asleep for ident in self._drivers)
        ):
            return None
        return max(0.0, self._changed + self.idle_settle - time.monotonic())

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


class _Installed:
    clock: EmulatedClock | None = None


def current() -> EmulatedClock | None:
    """The clock the running emulator installed (patched moto code reads it)."""
    return _Installed.clock


def install(clock: EmulatedClock | None) -> None:
    _Installed.clock = clock


def now() -> datetime:
    c = _Installed.clock
    return c.now() if c else datetime.now(UTC)


def spawn(target: Callable[..., object], *args: object, name: str) -> threading.Thread:
    """`EmulatedClock.spawn` on the installed clock; a plain daemon thread without one."""
    c = _Installed.clock
    if c:
        return c.spawn(target, *args, name=name)
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def sleep(seconds: float) -> None:
    c = _Installed.clock
    if c:
        c.sleep(seconds)
    else:
        time.sleep(seconds)
