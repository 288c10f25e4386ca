"""One emulated clock: speed factor, jumps, and the sleepwake layer reading it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from localaws import EmulatedClock
from localaws.clock_pause import SharedPause


def test_time_runs_at_the_speed_factor():
    clock = EmulatedClock(start=datetime(2025, 1, 1, tzinfo=UTC), speed=3600)
    clock.sleep(7200)  # two emulated hours
    assert clock.now() >= datetime(2025, 1, 1, 2, tzinfo=UTC)
    assert clock.now() < datetime(2025, 1, 1, 12, tzinfo=UTC)


def test_advance_wakes_sleepers_whose_deadline_passed():
    clock = EmulatedClock(start=datetime(2025, 1, 1, tzinfo=UTC), speed=1)
    woke = threading.Event()

    def sleeper() -> None:
        clock.sleep(3600)
        woke.set()

    threading.Thread(target=sleeper, daemon=True).start()
    time.sleep(0.05)
    clock.advance(timedelta(hours=1))
    assert woke.wait(5)


def test_wait_until_returns_false_when_the_event_is_set_first():
    clock = EmulatedClock(speed=1)
    stop = threading.Event()
    stop.set()
    assert clock.wait_until(clock.now() + timedelta(hours=1), stop) is False


def test_naive_start_and_backwards_jumps_are_rejected():
    with pytest.raises(ValueError):
        EmulatedClock(start=datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        EmulatedClock().advance(-1)


def test_emulator_installs_the_clock_into_sleepwake(emu):
    from sleepwake import clock as sw_clock

    assert abs((sw_clock.now() - emu.now()).total_seconds()) < 60
    assert sw_clock.now().year == 2025


def test_paused_clock_stands_still_during_real_work():
    clock = EmulatedClock(start=datetime(2025, 1, 1, tzinfo=UTC), speed=3600)
    with clock.paused():
        before = clock.now()
        time.sleep(0.05)  # three emulated minutes if the clock ran
        assert clock.now() == before
    assert clock.now() >= before


def test_a_soft_pause_freezes_time_only_for_its_limit():
    clock = EmulatedClock(start=datetime(2025, 1, 1, tzinfo=UTC), speed=3600, soft_pause_limit=0.3)
    with clock.paused(soft=True):
        before = clock.now()
        time.sleep(0.02)
        assert clock.now() == before  # young: frozen (0.28 s of margin for a slow host)
        time.sleep(0.4)
        assert clock.now() > before  # older than the limit: time runs again (no deadlock on a stuck call)


def test_sleeping_inside_a_pause_does_not_wait_on_itself():
    clock = EmulatedClock(start=datetime(2025, 1, 1, tzinfo=UTC), speed=3600)
    with clock.paused():
        start = clock.now()
        clock.sleep(60)  # would never end if this thread's own pause kept the clock frozen
        assert clock.now() >= start + timedelta(seconds=60)


def test_a_hard_pause_held_too_long_lets_time_run_again():
    """A thread stuck inside a hard pause must not freeze every sleeper for good."""
    import threading as _threading
    import time as _time
    from datetime import UTC as _UTC
    from datetime import datetime as _datetime

    from localaws.clock import EmulatedClock as _Clock

    clock = _Clock(start=_datetime(2026, 1, 1, tzinfo=_UTC), speed=100, hard_pause_limit=0.3)
    held = _threading.Event()
    release = _threading.Event()

    def stuck() -> None:
        with clock.paused():
            held.set()
            release.wait(5)

    worker = _threading.Thread(target=stuck)
    worker.start()
    held.wait(5)
    frozen = clock.now()
    _time.sleep(0.1)
    assert clock.now() == frozen
    _time.sleep(0.4)
    assert clock.now() > frozen
    release.set()
    worker.join(5)


# -- jumping when idle ---------------------------------------------------------------------------------------
START = datetime(2025, 1, 1, tzinfo=UTC)


def _sleep_in_thread(clock: EmulatedClock, seconds: float) -> tuple[threading.Thread, list[datetime]]:
    woke: list[datetime] = []
    thread = threading.Thread(target=lambda: (clock.sleep(seconds), woke.append(clock.now())), daemon=True)
    thread.start()
    return thread, woke


def test_an_idle_clock_jumps_to_the_next_deadline_and_not_past_it():
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    first, woke_first = _sleep_in_thread(clock, 3600)
    second, woke_second = _sleep_in_thread(clock, 7200)
    first.join(10)
    assert woke_first and START + timedelta(hours=1) <= woke_first[0] < START + timedelta(hours=2)
    second.join(10)
    assert woke_second and woke_second[0] >= START + timedelta(hours=2)
    assert clock.now() < START + timedelta(hours=2, minutes=1)  # nobody sleeps any more: no further jump
    assert clock.jumped >= timedelta(hours=1, minutes=59)
    assert clock.jumps == 2  # one per deadline reached: what a replay's wall time is counted in


def test_without_jumping_a_sleeper_waits_its_emulated_time():
    clock = EmulatedClock(start=START, speed=1)
    thread, woke = _sleep_in_thread(clock, 3600)
    thread.join(0.5)
    assert not woke and clock.jumped == timedelta(0)


def test_a_driver_that_is_awake_holds_time_and_one_that_sleeps_on_the_clock_lets_it_jump():
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    with clock.held():  # this thread drives, as a test or a replay does
        worker, woke = _sleep_in_thread(clock, 3600)
        time.sleep(0.5)  # awake, not on the clock (say, reading an answer): no jump
        assert not woke and clock.now() < START + timedelta(minutes=1)
        clock.sleep(60)  # the driver polls: idle until its own deadline, the earliest one
        assert START + timedelta(seconds=60) <= clock.now() < START + timedelta(hours=1)
        assert not woke
        time.sleep(0.5)  # awake again right after its sleep: no jump
        assert not woke
    worker.join(10)  # released: the worker's hour passes at once
    assert woke and woke[0] >= START + timedelta(hours=1)


def test_a_pause_in_progress_is_running_work_and_holds_time():
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    with clock.paused(soft=True):  # an API call or a handler under way
        worker, woke = _sleep_in_thread(clock, 3600)
        time.sleep(0.5)
        assert not woke
    worker.join(10)
    assert woke


def test_release_without_hold_is_refused():
    with pytest.raises(RuntimeError):
        EmulatedClock().release()


def test_a_spawned_thread_is_running_work_until_it_sleeps_on_the_clock():
    """An asynchronous invocation or a provisioning thread: no jump between its start and its first pause."""
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    sleeper, woke = _sleep_in_thread(clock, 3600)
    go, busy = threading.Event(), threading.Event()
    worker = clock.spawn(lambda: (go.wait(10), busy.set(), clock.sleep(60)), name="work")
    time.sleep(0.3)  # the spawned thread works off the clock (until `go`, however slow the host): no jump
    assert not woke and clock.now() < START + timedelta(minutes=1)
    go.set()
    worker.join(10)  # asleep on the clock, then done: its minute and then the sleeper's hour pass at once
    assert busy.is_set()
    sleeper.join(10)
    assert woke and woke[0] >= START + timedelta(hours=1)


def test_work_announced_as_starting_holds_time_until_it_has_started():
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    clock.starting()  # e.g. a Step Functions execution whose thread has not taken its pause yet
    sleeper, woke = _sleep_in_thread(clock, 3600)
    time.sleep(0.3)
    assert not woke
    clock.started()
    sleeper.join(10)
    assert woke


def test_a_wait_on_the_clock_ends_early_when_its_stop_condition_holds():
    """A Step Functions Wait of a stopped execution leaves at once; a running one waits its emulated time."""
    clock = EmulatedClock(start=START, speed=1)
    stopped = threading.Event()
    threading.Timer(0.2, stopped.set).start()
    began = time.monotonic()
    assert clock.wait_until(START + timedelta(hours=1), stop=stopped.is_set) is False
    assert time.monotonic() - began < 5
    clock.jump_when_idle()
    assert clock.wait_until(clock.now() + timedelta(hours=1), stop=lambda: False) is True


def test_a_shared_pause_holds_time_until_stopped_from_any_thread_and_lets_it_jump_while_suspended():
    """Work that spans threads (a Step Functions execution) is one pause; a thread of it that waits suspends
    it, so the idle clock may jump to that wait's deadline."""
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    shared = SharedPause(clock).start()
    worker, woke = _sleep_in_thread(clock, 3600)
    time.sleep(0.5)
    assert not woke  # the work runs: no jump
    with shared.suspended(), shared.suspended():  # two branches wait at once
        worker.join(10)
        assert woke and woke[0] >= START + timedelta(hours=1)
        second, woke_second = _sleep_in_thread(clock, 3600)
        second.join(10)
        assert woke_second
    third, woke_third = _sleep_in_thread(clock, 3600)
    time.sleep(0.5)
    assert not woke_third  # resumed: running again
    threading.Thread(target=shared.stop).start()  # stopped by another thread than the one that started it
    third.join(10)
    assert woke_third


def test_the_clock_goes_back_only_while_nothing_else_sleeps_on_it_or_runs():
    """Only a whole emulator put back as it was (localaws/stack_reset.py) sets the time back; a thread asleep on
    the clock or a pause in progress would otherwise see time run backwards."""
    clock = EmulatedClock(start=START, speed=1)
    clock.advance(timedelta(hours=3))
    sleeper, woke = _sleep_in_thread(clock, 3600)
    deadline = time.monotonic() + 5
    while clock.quiet() and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(RuntimeError, match="only while nothing else runs"):
        clock.rewind(START)
    clock.advance(timedelta(hours=1))
    sleeper.join(5)
    assert woke
    with clock.held():  # the caller's own hold does not count: it is the one rewinding
        clock.rewind(START, speed=2)
    assert START <= clock.now() < START + timedelta(minutes=1)
    assert clock.speed == 2
    with clock.paused(), pytest.raises(RuntimeError):
        clock.rewind(START)


def _looks(clock: EmulatedClock, until: datetime, stop: threading.Event) -> tuple[threading.Thread, list[datetime]]:
    """A watcher (a driver, as a test polling /status is) that records the emulated time of each look."""
    looked: list[datetime] = []

    def watch() -> None:
        seen = None
        with clock.held():
            while not stop.is_set() and clock.now() < until:
                seen = clock.look_after(until, seen, stop=stop.is_set)
                looked.append(clock.now())

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread, looked


def test_a_watcher_looks_after_each_step_of_work_before_time_moves_on_and_adds_no_jump_of_its_own():
    """A test waiting for a state (Emulator.wait_for) on a jumping clock: it looks each time the clock is about
    to jump after something ran, so it sees every step at the time it happened, and its looks cost no jump
    (a poll every few emulated seconds was a jump each)."""
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    steps: list[datetime] = []

    def work() -> None:
        for _ in range(5):
            clock.sleep(600)
            steps.append(clock.now())

    stop = threading.Event()
    watcher, looked = _looks(clock, START + timedelta(hours=2), stop)
    clock.spawn(work, name="work").join(20)
    time.sleep(0.3)
    stop.set()
    watcher.join(10)
    assert len(steps) == 5
    for step in steps:  # each step seen at its own time, before the next ten minutes passed
        assert any(step <= at < step + timedelta(minutes=1) for at in looked), (step, looked)
    assert clock.jumps == 6  # the work's five deadlines, then the watcher's own (nothing else sleeps): no look's
    assert len(looked) <= 2 * 5 + 2


def test_two_watchers_do_not_make_each_other_look_again():
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    stop = threading.Event()
    first, looked_first = _looks(clock, START + timedelta(hours=1), stop)
    second, looked_second = _looks(clock, START + timedelta(hours=1), stop)
    time.sleep(0.5)  # nothing runs but the two: each looks once, then both sleep until the hour
    first.join(10)
    second.join(10)
    assert clock.now() >= START + timedelta(hours=1)
    assert len(looked_first) <= 3 and len(looked_second) <= 3, (looked_first, looked_second)
