"""A test that waits in wall time with emulated time held still (tests/waits.py) sees none pass, however long the
wait: what test_dead_executions' "noticed within a minute" relies on."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from localaws.clock import EmulatedClock
from tests.waits import held_still

START = datetime(2026, 12, 7, 12, tzinfo=UTC)


def test_a_wait_held_still_outlasts_the_hard_pause_limit_without_time_passing():
    clock = EmulatedClock(START, speed=600, hard_pause_limit=0.2)
    with held_still(clock):
        held = clock.now()
        time.sleep(0.5)  # past the limit
        assert clock.now() - held < timedelta(milliseconds=1)
    assert clock.speed == 600  # and the speed comes back


def test_a_hard_pause_lets_time_run_past_its_limit():
    """Why held_still is not a pause: the safety net lets a long pause go."""
    clock = EmulatedClock(START, speed=600, hard_pause_limit=0.2)
    with clock.paused():
        held = clock.now()
        time.sleep(0.5)
        assert clock.now() - held >= timedelta(seconds=60)  # 0.3 wall s past the limit at 600 x: ~180 s
