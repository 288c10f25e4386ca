"""The one place the Lambda side reads the time, so the local stack can run it in emulated time.

The core never reads a clock; handlers pass `now()` into it. In AWS this is the wall clock; the local
emulator installs its speed-factor clock with `use(...)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
_sleep: Callable[[float], None] = time.sleep


def now() -> datetime:
    """Timezone-aware current time (UTC)."""
    return _now()


def sleep(seconds: float) -> None:
    """Sleep in the same time base as `now()`."""
    _sleep(seconds)


def use(now_fn: Callable[[], datetime], sleep_fn: Callable[[float], None]) -> None:
    """Install another time source (the local stack's emulated clock)."""
    global _now, _sleep
    _now, _sleep = now_fn, sleep_fn


def reset() -> None:
    """Back to the wall clock."""
    use(lambda: datetime.now(UTC), time.sleep)


@contextmanager
def using(now_fn: Callable[[], datetime], sleep_fn: Callable[[float], None]) -> Iterator[None]:
    """Another time source for the block, then the one before it (the operator CLI uses the stack's clock,
    and may run inside a process whose clock is already the emulator's)."""
    global _now, _sleep
    saved = _now, _sleep
    _now, _sleep = now_fn, sleep_fn
    try:
        yield
    finally:
        _now, _sleep = saved
