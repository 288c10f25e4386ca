"""A call another thread of this process waits on (localaws/clock_calls.py `serving`, localaws/calls.py): while the
thread answering it sleeps on the clock, the caller sleeps too, so an idle clock jumps over the wait (a serverless
cold start a Lambda handler or the replay's product client waits for) instead of crawling through it."""

from __future__ import annotations

import gc
import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError
from werkzeug.serving import make_server

from localaws import EmulatedClock, calls
from localaws.clock_calls import ClockLock, Lent
from localaws.clock_pause import SharedPause
from tests.waits import eventually, sleeping_until

START = datetime(2025, 1, 1, tzinfo=UTC)
COLD_START = 3600.0  # at speed 1 an hour: only a jump gets through it within the test's wait


def _caller() -> tuple[EmulatedClock, calls.Call, threading.Event]:
    """A jumping clock and a call from a thread in a soft pause on it (a handler, the replay's request), open until
    the event returned is set (its answer came, or it gave up: as botocore's response-received closes it)."""
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    returned, made = threading.Event(), queue.Queue[calls.Call]()

    def run() -> None:
        with clock.paused(soft=True):
            call = calls.open_call()
            made.put(call)
            returned.wait(60)
            call.close()

    threading.Thread(target=run, daemon=True).start()
    return clock, made.get(timeout=5), returned


def _serve(clock: EmulatedClock, caller: calls.Call | None) -> tuple[threading.Thread, list[datetime]]:
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
    server, woke = _serve(clock, caller)
    server.join(20)
    assert woke and woke[0] >= START + timedelta(seconds=COLD_START)
    assert clock.jumps == 1
    assert clock.is_paused  # the caller's pause is back (young again) once its call answered
    returned.set()
    caller.thread.join(5)


def test_a_call_nobody_in_this_process_waits_on_keeps_the_callers_pause():
    clock, caller, returned = _caller()
    server, woke = _serve(clock, None)  # a call from another process: its caller is not known here
    server.join(1.0)
    assert not woke and clock.jumps == 0  # the soft pause held by the (unrelated) caller holds the clock
    returned.set()
    caller.thread.join(5)
    server.join(20)
    assert woke and clock.jumps == 1  # nothing else runs: then it jumps


def test_a_caller_that_gave_up_meanwhile_leaves_no_pause_behind():
    clock, caller, returned = _caller()
    with clock.held():  # no jump until the caller has given up
        server, woke = _serve(clock, caller)
        sleeping_until(clock, datetime.min.replace(tzinfo=UTC))  # the call sleeps on the clock
        returned.set()  # the caller gives up (a client timeout) and leaves its pause
        caller.thread.join(5)
    server.join(20)
    assert woke and clock.jumps == 1
    assert not clock.is_paused  # the call's end gave back no pause to a caller that had left it


def _answering(clock: EmulatedClock, caller: calls.Call, then: threading.Event) -> calls.Call:
    """A thread answering `caller` (the emulator's server running a Lambda for a Step Functions task) that is
    blocked on a call of its own, returned, until `then` is set: in its pauses, as a handler is."""
    made = queue.Queue[calls.Call]()

    def run() -> None:
        with clock.paused(soft=True), clock.serving(caller), clock.paused(soft=True):
            call = calls.open_call()
            made.put(call)
            then.wait(60)
            call.close()

    threading.Thread(target=run, daemon=True).start()
    return made.get(timeout=5)


def test_the_callers_caller_sleeps_too_so_the_clock_jumps():
    """A Step Functions task's Lambda waiting on a cold fallback: the task's thread waits on the Lambda, which
    waits on the fallback's cold start: every thread up the chain counts as asleep while the last one sleeps."""
    clock, caller, returned = _caller()
    answered = threading.Event()
    middle = _answering(clock, caller, answered)
    server, woke = _serve(clock, middle)
    server.join(20)
    assert woke and woke[0] >= START + timedelta(seconds=COLD_START)
    assert clock.jumps == 1
    answered.set()
    returned.set()
    middle.thread.join(5)
    caller.thread.join(5)
    assert not clock.is_paused and not clock.asleep()  # every pause and sleep lent was given back, then ended


def test_the_shared_pause_of_the_callers_work_is_idle_while_its_call_sleeps():
    """A Step Functions execution's pause is the work's, not one thread's (clock_pause.SharedPause): a thread
    of it that joined it and waits on a call sleeping on the clock leaves the execution idle meanwhile."""
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    shared = SharedPause(clock).start()
    returned, made = threading.Event(), queue.Queue[calls.Call]()

    def task() -> None:
        with shared.joined():
            call = calls.open_call()
            made.put(call)
            returned.wait(60)
            call.close()

    threading.Thread(target=task, daemon=True).start()
    caller = made.get(timeout=5)
    server, woke = _serve(clock, caller)
    server.join(20)
    assert woke and clock.jumps == 1
    assert clock.is_paused  # the execution runs on once its call answered
    returned.set()
    caller.thread.join(5)
    shared.stop()
    assert not clock.work_of


def test_a_handler_that_gave_up_on_its_call_has_its_pause_back_at_once():
    """A Lambda handler whose call sleeps on the clock gives up on it (a read timeout) and works on in its pause: the
    pause lent to the call's sleep is back at once, so the clock stands still while it works (review2-s23 finding
    6: it stayed lent, the clock idle, until the call's sleep ended)."""
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    gave_up, done, made = threading.Event(), threading.Event(), queue.Queue[calls.Call]()

    def handler() -> None:
        with clock.paused(soft=True):
            call = calls.open_call()
            made.put(call)
            gave_up.wait(20)
            call.close()  # botocore's response-received after the read timeout
            done.wait(20)  # works on in its pause

    worker = threading.Thread(target=handler, daemon=True)
    try:
        with clock.held():  # no jump before the handler has given up
            worker.start()
            server, woke = _serve(clock, made.get(timeout=5))
            assert eventually(lambda: not clock.is_paused, 30, poll=0.01), "the handler's pause was never lent"
            gave_up.set()
            assert eventually(lambda: clock.is_paused, 30, poll=0.01), "the handler's pause is not back"
        # the test drives no more: the clock waits for the handler at work, not for the call's sleep
        assert not clock.would_jump() and clock.jumps == 0 and not woke
    finally:
        gave_up.set()
        done.set()
    server.join(20)
    assert woke and clock.jumps == 1  # the handler ended: nothing else runs


def test_when_a_call_up_the_chain_is_given_up_every_caller_from_there_is_awake_again():
    clock, caller, returned = _caller()
    answered = threading.Event()
    with clock.held():
        middle = _answering(clock, caller, answered)
        server, woke = _serve(clock, middle)
        assert eventually(lambda: not clock.is_paused, 30, poll=0.01), "the callers' pauses were never lent"
        answered.set()  # the middle thread gives up on its call and returns
        middle.thread.join(5)
        assert clock.is_paused and clock.asleep() == {server.ident}  # the first caller has its pause back: awake
    returned.set()
    caller.thread.join(5)
    server.join(20)
    assert woke and clock.jumps == 1


def _queued_call(clock: EmulatedClock, caller: calls.Call, lock: ClockLock) -> list[datetime]:
    """A call `caller` waits on, queued behind `lock` (a serverless endpoint's container); when it ran, once it has."""
    got: list[datetime] = []

    def queued() -> None:
        with clock.paused(soft=True), clock.serving(caller), clock.holding(lock):
            got.append(clock.now())

    waiter = threading.Thread(target=queued, daemon=True)
    waiter.start()
    waiter.join(20)
    return got


def test_a_thread_blocked_on_another_that_sleeps_on_the_clock_lets_it_jump():
    """`holding()`: a call queued behind a serverless endpoint's container, held by the request ahead sleeping in
    its cold start, is idle with its caller while it waits: the clock jumps to the holder's wake-up."""
    clock, caller, returned = _caller()
    lock, holding = ClockLock(), threading.Event()
    woke: list[datetime] = []

    def holder() -> None:
        with clock.holding(lock):
            holding.set()
            clock.sleep(COLD_START)
            woke.append(clock.now())

    threading.Thread(target=holder, daemon=True).start()
    assert holding.wait(5)
    got = _queued_call(clock, caller, lock)
    assert woke and got and got[0] >= START + timedelta(seconds=COLD_START)
    assert clock.jumps == 1
    returned.set()
    caller.thread.join(5)


STALL = 0.2  # wall seconds a thread is not scheduled (a loaded emulator): 20 times idle_settle


def _far_sleeper(clock: EmulatedClock) -> None:
    """Another sleeper a day away (an alarm round): the deadline an idle clock would jump to."""
    threading.Thread(target=clock.sleep, args=(86400,), daemon=True).start()


def test_a_call_whose_sleep_ended_is_answered_before_the_clock_jumps_on(monkeypatch):
    """The serving thread woke from its cold start but is not scheduled for a while as it takes back its pauses and
    hands its callers theirs: it counts as running meanwhile, so the clock does not jump to the next deadline (a
    day away) before the answer is made; the call took its cold start, not a day (review2-s23 finding 1)."""
    clock, caller, returned = _caller()
    _far_sleeper(clock)
    unlend = clock._unlend

    def stalled(lent: Lent | None) -> None:
        time.sleep(STALL)  # woken, before its callers have their pauses back
        unlend(lent)

    monkeypatch.setattr(clock, "_unlend", stalled)
    server, woke = _serve(clock, caller)
    server.join(20)
    assert not server.is_alive(), "the serving thread never woke from its cold start"
    assert woke[0] < START + timedelta(seconds=COLD_START + 60), f"the call was answered at {woke[0]}"
    assert clock.jumps == 1
    returned.set()
    caller.thread.join(5)


class _SlowToRun:
    """A lock whose taker is not scheduled for STALL after it has it (a loaded emulator)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        got = self._lock.acquire()
        time.sleep(STALL)
        return got

    def release(self) -> None:
        self._lock.release()


def test_a_lock_released_to_a_queued_call_is_handed_over_before_the_clock_jumps_on():
    """The holder (a request after its cold start) releases the container's lock and ends its pause; the queued
    call is not scheduled for a while: it counts as starting from the release, so the clock does not jump to the
    next deadline before it has run (review2-s23 finding 2)."""
    clock, caller, returned = _caller()
    _far_sleeper(clock)
    lock, holding = ClockLock(), threading.Event()
    lock.lock = _SlowToRun()  # type: ignore[assignment]

    def holder() -> None:
        with clock.paused(soft=True), clock.holding(lock):
            holding.set()
            clock.sleep(COLD_START)

    first = threading.Thread(target=holder, daemon=True)
    first.start()
    assert holding.wait(5)
    got = _queued_call(clock, caller, lock)
    first.join(5)
    assert got, "the queued call never got the lock"
    assert got[0] < START + timedelta(seconds=COLD_START + 60), f"the queued call ran at {got[0]}"
    assert clock.jumps == 1
    returned.set()
    caller.thread.join(5)


def test_calls_to_the_emulator_by_either_loopback_name_name_their_thread():
    """moto's Step Functions calls the emulator's Lambda at http://localhost:<port>, the emulator serves
    http://127.0.0.1:<port>: both are its calls."""
    calls.serve("http://127.0.0.1:59999")
    try:
        for url in ("http://127.0.0.1:59999/2015-03-31/functions", "http://localhost:59999/2015-03-31/functions"):
            request = SimpleNamespace(url=url, headers={})
            calls._tag(request)
            named = {"HTTP_X_LOCALAWS_CALLER": request.headers[calls.CALLER_HEADER]}
            call = calls.caller(named)
            assert call is not None and call.thread is threading.current_thread()
            calls._done()  # botocore's response-received: the call is over
            assert calls.caller(named) is None
        elsewhere = SimpleNamespace(url="http://localhost:59998/", headers={})
        calls._tag(elsewhere)
        assert not elsewhere.headers
    finally:
        calls.stop_serving("http://127.0.0.1:59999")
    assert not any("59999" in endpoint for endpoint in calls._ENDPOINTS)


def test_calls_name_an_open_call_of_this_process_only():
    call = calls.open_call()
    try:
        assert calls.caller({"HTTP_X_LOCALAWS_CALLER": call.header}) is call
        assert calls.caller({"HTTP_X_LOCALAWS_CALLER": f"{os.getpid() + 1}:{call.number}"}) is None  # another process
        assert calls.caller({"HTTP_X_LOCALAWS_CALLER": "garbage"}) is None
        assert calls.caller({}) is None
    finally:
        call.close()
    assert calls.caller({"HTTP_X_LOCALAWS_CALLER": call.header}) is None  # over


def test_a_call_whose_thread_ended_is_no_longer_open():
    """A thread that ended inside its call (its response-received never came) waits on nothing: a new thread
    that reuses its ident is not taken for it (review2-s23 finding 6)."""
    made = queue.Queue[calls.Call]()
    ended = threading.Thread(target=lambda: made.put(calls.Call()))
    ended.start()
    ended.join(5)
    call = made.get(timeout=5)
    assert not call.open and not call.when_closed(lambda: None)


def test_an_emulator_api_call_from_this_process_names_its_thread(emu, monkeypatch):
    seen: list[threading.Thread | None] = []
    original = calls.caller

    def spy(environ):
        call = original(environ)
        seen.append(call and call.thread)
        return call

    monkeypatch.setattr(calls, "caller", spy)
    emu.client("sagemaker").list_endpoints()
    assert threading.current_thread() in seen


def _sleeping_server(clock: EmulatedClock) -> tuple[str, Callable[[], None]]:
    """A server answering each call as the emulator's does (localaws/emulator.py: in a soft pause, serving the
    caller named in the call) after a COLD_START sleep on the clock; its URL and what stops it."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with clock.paused(soft=True), clock.serving(calls.caller(environ)):
            clock.sleep(COLD_START)
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", "2")])
        return [b"{}"]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    calls.serve(url)

    def stop() -> None:
        calls.stop_serving(url)
        server.shutdown()

    return url, stop


def test_a_caller_that_gave_up_on_its_call_and_works_on_is_awake_so_the_clock_waits_for_it():
    """A driver (the replay's product client) whose call sleeps on the clock in the server gives up (botocore's read
    timeout) and works on: it is awake from then on, so the clock does not jump to the call's wake-up while it works
    (review2-s23 finding 6: it counted as asleep until the server's sleep ended). Through a real botocore client."""
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    url, stop = _sleeping_server(clock)
    gave_up, looked = threading.Event(), threading.Event()
    client = boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=Config(read_timeout=0.5, retries={"total_max_attempts": 1}),
    )

    def driver() -> None:
        with clock.held():
            with pytest.raises(ReadTimeoutError):
                client.list_endpoints()
            gave_up.set()
            looked.wait(20)  # works on, awake and holding no pause, until the test has looked

    thread = threading.Thread(target=driver, daemon=True)
    try:
        with clock.held():  # the test drives too until the call has timed out: no jump meanwhile
            thread.start()
            assert gave_up.wait(20), "the call never timed out"
        # the test drives no more: the clock waits for the caller at work, not for the call's sleep
        assert not clock.would_jump() and clock.jumps == 0, "the clock would jump while the caller works"
    finally:
        looked.set()
        thread.join(20)
        clock.advance(COLD_START)  # the server's sleep ends; it answers a closed connection
        stop()


def test_a_caller_whose_thread_ended_inside_its_lent_call_counts_asleep_no_more():
    """A caller lent to a sleep whose thread ends inside its call (a BaseException in the send: no response-received)
    waits on nothing: it no longer counts as asleep, so a new driver that reuses its ident is not taken for it and
    the clock waits for that driver at work (review2-s24 finding 5: it jumped)."""
    clock = EmulatedClock(start=START, speed=1)
    clock.jump_when_idle()
    lent, made = threading.Event(), queue.Queue[calls.Call]()

    def ends_inside_its_call() -> None:
        made.put(calls.open_call())
        lent.wait(20)

    with clock.held():  # no jump: the test drives
        ended = threading.Thread(target=ends_inside_its_call)
        ended.start()
        server, woke = _serve(clock, made.get(timeout=5))
        assert eventually(lambda: ended.ident in clock.asleep(), 30, poll=0.01), "the caller was never lent"
        lent.set()
        ended.join(5)
        assert ended.ident not in clock.asleep()
        driving, done, reused = threading.Event(), threading.Event(), []

        def driver() -> None:
            if threading.get_ident() == ended.ident:  # glibc reuses a joined thread's stack, and so its ident
                reused.append(True)
                with clock.held():
                    driving.set()
                    done.wait(20)

        for _ in range(50):
            thread = threading.Thread(target=driver, daemon=True)
            thread.start()
            if reused:
                break
            thread.join(5)
    try:
        if reused:  # the test drives no more: the clock waits for the new driver at work
            assert driving.wait(5) and not clock.would_jump() and clock.jumps == 0
    finally:
        done.set()
    thread.join(5)
    server.join(20)
    assert woke and clock.jumps == 1


def test_a_call_whose_thread_ended_inside_it_is_let_go_at_the_next_call():
    """Its thread, its callbacks and what they hold are not kept for good (review2-s24 finding 6)."""
    made = queue.Queue[weakref.ref[calls.Call]]()
    ended = threading.Thread(target=lambda: made.put(weakref.ref(calls.open_call())))
    ended.start()
    ended.join(5)
    call = made.get(timeout=5)
    calls.open_call().close()  # another thread's next call
    gc.collect()
    assert call() is None


def test_a_serving_threads_sleeps_leave_nothing_on_a_call_that_stays_open(monkeypatch):
    """Each sleep of the thread answering a call lends the caller its sleep and, once it wakes, gives it back and
    leaves nothing behind on the call, which may stay open for long (review2-s24 finding 6: one callback and
    the lending it holds were added to the call per sleep, kept until the call closed)."""
    clock, caller, returned = _caller()
    lends, lend = [], clock._lend

    def spy() -> Lent | None:
        lent = lend()
        lends.append(weakref.ref(lent) if lent else None)
        return lent

    monkeypatch.setattr(clock, "_lend", spy)

    def sleeps() -> None:
        with clock.paused(soft=True), clock.serving(caller):
            for _ in range(3):
                clock.sleep(COLD_START)

    server = threading.Thread(target=sleeps, daemon=True)
    server.start()
    server.join(20)
    assert not server.is_alive() and clock.jumps == 3
    assert len(lends) == 3 and all(lends), "a sleep lent the caller nothing"
    gc.collect()
    assert caller.open and not [ref for ref in lends if ref and ref() is not None]
    returned.set()
    caller.thread.join(5)
