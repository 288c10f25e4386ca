"""A call another thread of this process waits on (localaws/clock.py `serving`, localaws/calls.py): while the
thread answering it sleeps on the clock, the caller sleeps too, so an idle clock jumps over the wait (a serverless
cold start a Lambda handler or the replay's product client waits for) instead of crawling through it."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

from localaws import EmulatedClock, calls

START = datetime(2025, 1, 1, tzinfo=UTC)
COLD_START = 3600.0  # at speed 1 an hour: only a jump gets through it within the test's wait


def _caller() -> tuple[EmulatedClock, threading.Thread, threading.Event]:
    """A jumping clock and a thread in a soft pause on it (a handler, the replay's request) blocked on its call
    until the event returned is set."""
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    returned, inside = threading.Event(), threading.Event()

    def run() -> None:
        with clock.paused(soft=True):
            inside.set()
            returned.wait(60)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert inside.wait(5)
    return clock, thread, returned


def _serve(clock: EmulatedClock, caller: int | None) -> tuple[threading.Thread, list[datetime]]:
    woke: list[datetime] = []

    def run() -> None:
        with clock.paused(soft=True), clock.serving(caller):  # as the emulator's server answers a call
            clock.sleep(COLD_START)
            woke.append(clock.now())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, woke


def test_the_caller_sleeps_while_its_call_sleeps_on_the_clock_so_the_clock_jumps():
    clock, caller, returned = _caller()
    server, woke = _serve(clock, caller.ident)
    server.join(20)
    assert woke and woke[0] >= START + timedelta(seconds=COLD_START)
    assert clock.jumps == 1
    assert clock.is_paused  # the caller's pause is back (young again) once its call answered
    returned.set()
    caller.join(5)


def test_a_call_nobody_in_this_process_waits_on_keeps_the_callers_pause():
    clock, caller, returned = _caller()
    server, woke = _serve(clock, None)  # a call from another process: its caller is not known here
    server.join(1.0)
    assert not woke and clock.jumps == 0  # the soft pause held by the (unrelated) caller holds the clock
    returned.set()
    caller.join(5)
    server.join(20)
    assert woke and clock.jumps == 1  # nothing else runs: then it jumps


def test_a_caller_that_gave_up_meanwhile_leaves_no_pause_behind():
    clock, caller, returned = _caller()
    with clock.held():  # no jump until the caller has given up
        server, woke = _serve(clock, caller.ident)
        while not clock._deadlines:  # the call sleeps on the clock
            threading.Event().wait(0.01)
        returned.set()  # the caller gives up (a client timeout) and leaves its pause
        caller.join(5)
    server.join(20)
    assert woke and clock.jumps == 1
    assert not clock.is_paused  # the call's end gave back no pause to a caller that had left it


def test_calls_name_their_thread_in_this_process_only():
    me = threading.get_ident()
    assert calls.caller({"HTTP_X_LOCALAWS_CALLER": f"{os.getpid()}:{me}"}) == me
    assert calls.caller({"HTTP_X_LOCALAWS_CALLER": f"{os.getpid() + 1}:{me}"}) is None  # another process
    assert calls.caller({"HTTP_X_LOCALAWS_CALLER": "garbage"}) is None
    assert calls.caller({}) is None


def test_an_emulator_api_call_from_this_process_names_its_thread(emu, monkeypatch):
    seen: list[int | None] = []
    original = calls.caller

    def spy(environ):
        seen.append(original(environ))
        return seen[-1]

    monkeypatch.setattr(calls, "caller", spy)
    emu.client("sagemaker").list_endpoints()
    assert threading.get_ident() in seen
