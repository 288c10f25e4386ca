"""Replay a request trace through the running local stack on its emulated clock (`make replay`, issue 16).

The driver thread holds the clock (`EmulatedClock.hold`) and, event by event, sleeps on it until the next one,
so the clock jumps over the quiet stretches between events (`jump_when_idle`). Events come from the trace
(sleepwake_cli/simulate/trace.py) as the simulator reads it: a request with `wake_lead_seconds` is preceded
by an intent that long before it (never before the trace's start), the product's `POST /wake`; every request
is one call of the product's client (`sleepwake_client.SleepwakeClient.invoke`: the component, the fallback on
its no-capacity error, a wake signal).

A request must not hold up the driver (a cold fallback answers after emulated seconds), so each event runs on
a worker of a small pool. A worker holds the clock from before the driver goes back to sleep until its call
returned: no idle jump happens while a request is in flight, except over what the emulator makes the call wait
on the clock (a fallback cold start: the emulator knows the call is this process's, localaws/calls.py), so the
emulated time it waited is what the user saw. The client's only
timing is its wake-signal rate limit: it reads the emulated clock (`monotonic=`), and it never sleeps.

Per request it records when it was sent, the emulated latency its user saw, which path answered and whether
it failed: the ground truth the report and the simulator are compared with (localaws/replay_compare.py).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np

from localaws.local_stack import SAMPLE, LocalStack
from sleepwake_cli.simulate.trace import Request, Trace

Kind = Literal["intent", "request"]


@dataclass(frozen=True)
class Event:
    """Something the product does at `at`: an intent (`POST /wake`) or request number `index` of the trace."""

    at: datetime
    kind: Kind
    index: int


def events(trace: Trace) -> list[Event]:
    """The trace's intents and requests in time order. An intent comes `wake_lead_seconds` before its request,
    never before the trace's start (as the simulator places it: sleepwake_cli/simulate/base.py `run`); at the
    same instant an intent goes before a request, then the trace's order."""
    out: list[Event] = []
    for index, request in enumerate(trace.requests):
        if request.wake_lead_seconds is not None:
            at = max(trace.start, request.at - timedelta(seconds=request.wake_lead_seconds))
            out.append(Event(at, "intent", index))
        out.append(Event(request.at, "request", index))
    return sorted(out, key=lambda e: (e.at, e.kind != "intent", e.index))


@dataclass
class Sent:
    """What one request met: sent at `sent` (emulated), answered `latency_s` emulated seconds later by `path`."""

    index: int
    due: datetime
    sent: datetime
    latency_s: float
    path: Literal["component", "fallback"] | None
    ok: bool
    error: str | None = None


@dataclass
class Intent:
    """One `POST /wake` due at `due`, sent at `sent`: its HTTP status (0: no answer) and the state it answered."""

    index: int
    due: datetime
    sent: datetime
    status: int
    state: str | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


Invoke = Callable[[], str]  # sends one request; returns the path that answered, raises when it failed


class Driver:
    """Replays `trace` on `local` (already deployed): `run()` returns the requests' records in trace order."""

    def __init__(
        self,
        local: LocalStack,
        trace: Trace,
        *,
        workers: int = 4,
        progress: bool = True,
        invoke: Invoke | None = None,
        intent: Callable[[], tuple[int, str | None]] | None = None,
    ) -> None:
        self.local = local
        self.trace = trace
        self.clock = local.clock
        self.workers = workers
        self.progress = progress
        self.sent: list[Sent] = []
        self.intents: list[Intent] = []
        self._lock = threading.Lock()
        self._invoke = invoke or self._product_invoke()
        self._intent = intent or self._product_intent
        self.wall_seconds = 0.0

    # -- the product's calls -------------------------------------------------------------------------------
    def _product_invoke(self) -> Invoke:
        """The product's client as the product identity; its wake-signal rate limit on the emulated clock."""
        client = self.local.product_client(monotonic=self.clock.time)
        body = SAMPLE.read_bytes()

        def invoke() -> str:
            return str(client.invoke(body).served_by)

        return invoke

    def _product_intent(self) -> tuple[int, str | None]:
        """`POST /wake` signed as the product, as an app does when a user opens the practice screen."""
        status, answer = self.local.http("POST", "/wake", {"reason": "replay: intent"}, keys=self.local.product_keys)
        if not isinstance(answer, dict):
            return status, None
        return status, answer.get("state") if 200 <= status < 300 else answer.get("message", answer.get("error"))

    # -- one event on a worker -------------------------------------------------------------------------------
    def _run_event(self, event: Event, started: threading.Event) -> None:
        # An API call takes no emulated time in the emulator (localaws/clock.py): the product's side of it
        # (signing, the connection) neither, so the call runs in a soft pause. The pause also keeps the clock
        # from jumping until the call returned, except while the emulator's answer to it sleeps on the clock (a
        # cold fallback's start: clock.serving, localaws/calls.py): then this thread sleeps too, and an idle
        # clock jumps to the end of that wait.
        with self.clock.paused(soft=True):
            started.set()
            self._call(event)

    def _call(self, event: Event) -> None:
        sent = self.clock.now()
        if event.kind == "intent":
            try:
                status, state = self._intent()
            except Exception as exc:  # a refused or dropped /wake is a record, not a crash of the replay
                status, state = 0, f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.intents.append(Intent(event.index, event.at, sent, status, state))
            return
        path: Any = None
        error = None
        try:
            path = self._invoke()
        except Exception as exc:  # FallbackFailed, a ClientError, a dropped connection: the user got no answer
            error = f"{type(exc).__name__}: {exc}"
        latency = (self.clock.now() - sent).total_seconds()
        with self._lock:
            self.sent.append(Sent(event.index, event.at, sent, latency, path, error is None, error))

    # -- the driver ------------------------------------------------------------------------------------------
    def run(self, until: datetime | None = None) -> list[Sent]:
        """Every event at its emulated time, then the clock on to `until` (default: the trace's end)."""
        plan = events(self.trace)
        began = time.monotonic()
        bar = _bar(len(plan), self.progress)
        pending: list[Future[None]] = []
        self.clock.hold()
        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="replay") as pool:
                for event in plan:
                    self.clock.wait_until(event.at)
                    started = threading.Event()
                    pending.append(pool.submit(self._run_event, event, started))
                    started.wait()  # the worker holds the clock before the driver sleeps on it again
                    pending = [f for f in pending if not _done(f)]
                    bar(self._status(began))
                for future in pending:
                    future.result()
            self.clock.wait_until(max(until or self.trace.end, self.clock.now()))
        finally:
            self.clock.release()
            self.wall_seconds = time.monotonic() - began
            bar(None)
        self.sent.sort(key=lambda s: s.index)
        return self.sent

    def _status(self, began: float) -> str:
        now = self.clock.now().astimezone(self.trace.start.tzinfo)
        return f"{now:%a %d %b %H:%M} UTC, {len(self.sent)} requests answered, wall {time.monotonic() - began:.0f} s"


def _done(future: Future[None]) -> bool:
    if not future.done():
        return False
    future.result()  # a worker's own bug surfaces here, not silently
    return True


def _bar(total: int, show: bool) -> Callable[[str | None], None]:
    """Progress on stderr (tqdm): events done, with the emulated day and hour, answers so far and wall time.
    Called with None at the end."""
    if not show:
        return lambda _text: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="event", file=sys.stderr, mininterval=1.0, dynamic_ncols=True)

    def update(text: str | None) -> None:
        if text is None:
            bar.close()
            return
        bar.update(1)
        bar.set_postfix_str(text, refresh=False)

    return update


def requests_of(sent: Iterable[Sent], slow_seconds: float) -> dict[str, int]:
    """The driver's own figures: requests, failed, served by the fallback and answers slower than
    `slow_seconds` (emulated, as the user waited: a cold fallback's start included)."""
    records = list(sent)
    return {
        "requests": len(records),
        "failed": sum(not s.ok for s in records),
        "served_by_component": sum(s.path == "component" for s in records),
        "served_by_fallback": sum(s.path == "fallback" for s in records),
        "slow_answers": sum(s.ok and s.latency_s > slow_seconds for s in records),
    }


LATE_SECONDS = 1.0  # a send this far behind its due time has moved the trace's traffic
LATE_KEY = f"over_{LATE_SECONDS:g}_s"


def timeliness(sent: Iterable[Sent], intents: Iterable[Intent]) -> dict[str, Any]:
    """How faithfully the driver kept the trace's times (emulated seconds each call left after it was due: the
    driver's lag behind a clock that ran on while it was busy) and the intents the stack did not take (no 2xx).
    A slow replay shows here instead of quietly shifting traffic."""
    calls: list[Sent | Intent] = [*sent, *intents]
    lags = sorted((c.sent - c.due).total_seconds() for c in calls)
    failed = [i for i in intents if not i.ok]
    return {
        "late_sends": {
            "max_s": round(lags[-1], 3) if lags else 0.0,
            "p99_s": round(float(np.percentile(lags, 99)), 3) if lags else 0.0,
            LATE_KEY: sum(lag > LATE_SECONDS for lag in lags),
            "calls": len(lags),
        },
        "failed_intents": len(failed),
        "failed_intent_details": [{"due": i.due.isoformat(), "status": i.status, "answer": i.state} for i in failed],
    }


__all__ = [
    "LATE_KEY",
    "LATE_SECONDS",
    "Driver",
    "Event",
    "Intent",
    "Request",
    "Sent",
    "events",
    "requests_of",
    "timeliness",
]
