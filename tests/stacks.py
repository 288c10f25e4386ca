"""The local stack as tests deploy it: one factory (`local_stack`), so every test module starts the emulator and
deploys template.yaml the same way, and a stand-in model for the tests that do not read the model's answers.

The real model handler (torch, loaded per copy and again for the fallback) is what the model tests, the demo's
night and the tests that read an answer's body use (`real_model=True`). Every other test only needs *an*
answer from the component or the fallback: `StandInModel` loads at once and answers every request with the
same small JSON document, so a deploy and a wake cost no model load.
"""

from __future__ import annotations

import contextlib
import io
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from localaws.local_stack import LocalStack
from localaws.stand_in import StandInAnswer, StandInModel

__all__ = ["StandInAnswer", "StandInModel", "as_deployed", "local_stack"]

PT = ZoneInfo("America/Los_Angeles")
NIGHT = datetime(2026, 11, 25, 0, 30, tzinfo=PT).astimezone(UTC)  # quiet hours, 30 min after the nightly sleep
SPEED = 20.0
PROVISIONING = 60.0
DEMO_PROVISIONING = 210.0  # what `make demo` and `make local` run with (LocalStack's default)
FAST = {"FirstPollAfterSeconds": "20", "FirstPollOnInstanceSeconds": "10", "PollIntervalSeconds": "5"}


@contextlib.contextmanager
def local_stack(
    *,
    start: datetime = NIGHT,
    speed: float = SPEED,
    provisioning_seconds: float = PROVISIONING,
    parameters: dict[str, str] | None = None,
    real_model: bool = False,
    jump: bool = False,
    shared: bool = False,
    **options: Any,
) -> Iterator[LocalStack]:
    """The emulator on free ports with template.yaml deployed in create mode with `parameters` (default: FAST
    polling), no deployment file unless `deployment_file=` is passed; stopped on exit. `options` are
    LocalStack's (release_seconds, ...).

    The deploy itself always runs on a jumping clock (EmulatedClock.jump_when_idle) with the calling thread as its
    driver: the waits of a deploy (an endpoint's instances, a fallback's container: emulated minutes) cost no
    wall time, and the stack is deployed as at any speed, every timer firing at its own emulated instant.

    `jump`: the clock goes on jumping to the next deadline whenever nothing runs after the deploy, and the
    calling thread (the test) stays its driver: time does not jump while the test is awake, only while it sleeps
    on the clock (`local.clock.sleep`/`wait_until`, `wait_for_state`, ...). So a test that waits emulated hours
    waits no wall time for them; it must wait on the clock, never on time.sleep. Without `jump`, time runs at
    `speed` from the end of the deploy on.

    `shared`: the stack is kept as deployed (LocalStack.keep_as_deployed), for a module's tests to share it, each
    through `as_deployed()`."""
    factory = None if real_model else StandInModel
    options.setdefault("deployment_file", None)
    stack = LocalStack(
        start=start,
        speed=speed,
        port=0,
        api_port=0,
        provisioning_seconds=provisioning_seconds,
        parameters=FAST if parameters is None else parameters,
        model_server_factory=factory,
        fallback_server_factory=factory,
        **options,
    )
    stack.clock.hold()  # before the deploy: the test thread is awake, so counted, from the first instant
    stack.clock.jump_when_idle(True)
    driving = True
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the functions' JSON logs
            stack.start()
        if not jump:
            stack.clock.jump_when_idle(False)
            stack.clock.release()
            driving = False
        if shared:
            stack.keep_as_deployed()
        try:
            yield stack
        finally:
            stack.stop()
    finally:
        if driving:
            stack.clock.jump_when_idle(False)
            stack.clock.release()


@contextlib.contextmanager
def as_deployed(stack: LocalStack) -> Iterator[LocalStack]:
    """A stack made with `shared=True`, for one test, as a fresh deploy gives it: put back as deployed
    (LocalStack.reset: its clock too) if a test had it before. A module-scoped fixture deploys once, a
    function-scoped one hands the stack out through this. A reset that failed (a test left something running
    that never rests) fails every later test of the stack at once with its reason, instead of each waiting out
    another reset."""
    if stack in _BROKEN:
        raise RuntimeError(
            f"the shared stack could not be put back as deployed after an earlier test: {_BROKEN[stack]}"
        )
    if stack in _HANDED_OUT:
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the functions' JSON logs
                stack.reset()
        except Exception as error:
            _BROKEN[stack] = f"{type(error).__name__}: {error}"
            raise
    _HANDED_OUT.add(stack)
    yield stack


_HANDED_OUT: weakref.WeakSet[LocalStack] = weakref.WeakSet()
_BROKEN: weakref.WeakKeyDictionary[LocalStack, str] = weakref.WeakKeyDictionary()
