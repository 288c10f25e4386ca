"""A deployed emulator kept as it was and put back: what lets the tests deploy a stack once per module and give
every test the stack a fresh deploy gives (tests/stacks.py, `LocalStack.keep_as_deployed()` and `reset()`).

`AsDeployed.take(emu)`, right after a deploy, asks every emulated service for a snapshot (`Emulator.snapshot`,
localaws.service_state): the state of every moto backend but STS's (the state table's items, schedules, scaling
targets and policies, alarms and their states, metrics, rules, topics, queues, executions, IAM users, roles and
policies), and each service's own records (inference components and their copy counts and history, the
endpoints' instances, serverless endpoints and their warm state, Lambda invocations, schedule and alarm rounds,
delivered events, scaling activities, the timing switches), and keeps the clock's time and speed.

`restore()` stops what runs (executions, copy transitions and releases, the scheduler and the alarm rounds),
waits until nothing but the caller uses the clock, has every service put itself back (injected faults cleared),
sets the clock back to the instant it was taken (`EmulatedClock.rewind`: allowed only while nothing runs, and
everything that carries a time is put back with it) and starts the scheduler and the alarms again. A model
server loaded at the deploy and still loaded is kept (a copy's or the fallback's), one released since is loaded
again: a reset costs a model load only if the test released it.

Process-wide, as the emulator's state is (moto's backends, the event logs, the Step Functions switches:
`Emulator`): `restore()` would rewind every emulator of the process, so it refuses while another one runs. `take()`
keeps what the others made too, and mutes their executions' status events while it waits for rest.

Not an AWS behaviour: AWS cannot put a stack back in time (localaws.service_state says more).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from localaws import stepfunctions

if TYPE_CHECKING:
    from localaws.emulator import Emulator
    from localaws.service_state import Restore

QUIET_WALL_SECONDS = 120.0  # a stopped execution, a transition or a Lambda in flight ends well within this


class AsDeployed:
    """The emulator as it was when `take()` ran; `restore()` puts it back (see the module docstring)."""

    def __init__(self, emu: Emulator, at: datetime, speed: float, services: Restore) -> None:
        self.emu = emu
        self.at = at
        self.speed = speed
        self._services = services

    @classmethod
    def take(cls, emu: Emulator) -> AsDeployed:
        with _still(emu):
            return cls(emu, emu.clock.now(), emu.clock.speed, emu.snapshot())

    def restore(self) -> None:
        others = [emu.endpoint_url for emu in type(self.emu).running() if emu is not self.emu]
        if others:
            raise RuntimeError(
                f"cannot reset the emulator on {self.emu.endpoint_url} while another runs in this process "
                f"({', '.join(others)}): a reset puts back every moto backend of the process, the other's too"
            )
        with _still(self.emu):
            self._services()
            self.emu.clock.rewind(self.at, self.speed)


@contextlib.contextmanager
def _still(emu: Emulator) -> Iterator[None]:
    """Stop the scheduler, the alarm rounds and every execution and transition; wait until nothing but this
    thread uses the clock; run the block; start the scheduler and the alarm rounds again."""
    emu.scheduler.stop()
    emu.alarms.stop()
    stepfunctions.StepFunctionsSwitches.emit_status_events = False  # stopped executions notify no rule
    try:
        emu.stop_executions()
        emu.sagemaker.cancel_transitions()
        deadline = time.monotonic() + QUIET_WALL_SECONDS
        while not emu.clock.quiet():
            if time.monotonic() > deadline:
                running = sorted(t.name for t in threading.enumerate() if t is not threading.current_thread())
                raise RuntimeError(f"the emulator did not come to rest to be reset; threads: {running}")
            time.sleep(0.02)
        yield
    finally:
        stepfunctions.StepFunctionsSwitches.emit_status_events = True
        emu.alarms.start()
        emu.scheduler.start()
