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

EmulatedClock's parts, by concern: this module holds its state, reading, advancing and pauses (and the clock the
emulator installed); sleeping on it is in clock_waits.py, jumping when idle in clock_jumps.py, calls between its
threads in clock_calls.py.

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

from localaws.calls import Call
from localaws.clock_waits import Waits


class EmulatedClock(Waits):
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
        self._lent: dict[int, list[Call]] = {}  # callers waiting on a call that sleeps: localaws/clock_calls.py
        self._changed = time.monotonic()  # wall time of the last pause, sleep or wake-up
        # Looking (`look_after`): `epoch` counts what may have changed something a watcher reads (see there).
        self.epoch = 0
        self._lookers: dict[object, int | None] = {}  # a thread in look_after -> the epoch it last looked at
        self._look_now: set[object] = set()  # lookers told to look before the next jump
        self._events: dict[object, threading.Event] = {}  # the events sleepers wait on too (a kick wakes them)
        self._callers: dict[int, Call] = {}  # calls between its threads: localaws/clock_calls.py
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

    def asleep(self) -> set[int]:
        """The threads (idents) that count as asleep on the clock: sleeping on it, or waiting on a call that sleeps on
        it (lent, localaws/clock_calls.py); a driver among them lets the clock jump."""
        with self._cond:
            return {ident for ident in set(self._asleep) | set(self._lent) if self._counts_asleep_locked(ident)}

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
