"""A deployed emulator kept as it was and put back: what lets the tests deploy a stack once per module and give
every test the stack a fresh deploy gives (tests/stacks.py, `LocalStack.keep_as_deployed()` and `reset()`).

`AsDeployed.take(emu)`, right after a deploy, keeps: the state of every moto backend (the state table's items,
schedules, scaling targets and policies, alarms and their states, metrics, rules, topics, queues, executions,
IAM users, roles and policies; one deep copy, so what backends share stays shared) but STS's (the role sessions
issued stay valid, so the functions' containers stay warm, as after the deploy), the emulator's own records
(inference components and their copy counts and history, the endpoints' instances, serverless endpoints and
their warm state, Lambda invocations, schedule and alarm rounds, delivered events, scaling activities), the
timing switches, and the clock's time and speed.

`restore()` stops what runs (executions, copy transitions and releases, the scheduler and the alarm rounds),
waits until nothing but the caller uses the clock, puts all of that back, clears injected faults, sets the
clock back to the instant it was taken (`EmulatedClock.rewind`: allowed only while nothing runs, and everything
that carries a time is put back with it) and starts the scheduler and the alarms again. A model server loaded
at the deploy and still loaded is kept (a copy's or the fallback's), one released since is loaded again: a
reset costs a model load only if the test released it.

Not an AWS behaviour: AWS cannot put a stack back in time. moto's own reset API (`moto_api_backend.reset`, what
`Emulator.reset` calls) forgets every resource instead; this keeps the deployed ones.
"""

from __future__ import annotations

import contextlib
import copy
import copyreg
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from moto.core.base_backend import BackendDict
from moto.sts import models as sts_models

from localaws import autoscaling, events, sagemaker, sagemaker_serverless, stepfunctions

if TYPE_CHECKING:
    from localaws.emulator import Emulator

QUIET_WALL_SECONDS = 120.0  # a stopped execution, a transition or a Lambda in flight ends well within this
_LIVE = {"server", "invoke_lock", "lock", "generation"}  # fields of a record that are not state to put back
_COPYING = threading.Lock()


@contextlib.contextmanager
def _locks_copied_new() -> Iterator[None]:
    """Deep copies of moto's state make new locks (an SQS queue holds a Condition): copyreg's reducers, only
    while copying (copy.deepcopy reads copyreg.dispatch_table)."""
    kinds: dict[Any, Any] = {
        type(threading.Lock()): threading.Lock,
        type(threading.RLock()): threading.RLock,
        threading.Condition: threading.Condition,
        threading.Event: threading.Event,
    }
    with _COPYING:
        before = {kind: copyreg.dispatch_table.get(kind) for kind in kinds}
        for kind, make in kinds.items():
            copyreg.pickle(kind, _made_anew(make))
        try:
            yield
        finally:
            for kind, reducer in before.items():
                if reducer is None:
                    copyreg.dispatch_table.pop(kind, None)
                else:
                    copyreg.dispatch_table[kind] = reducer


def _made_anew(make: Callable[[], Any]) -> Callable[[Any], tuple[Callable[[], Any], tuple[()]]]:
    def reduce(_original: Any) -> tuple[Callable[[], Any], tuple[()]]:
        return make, ()

    return reduce


def _deepcopy(value: Any, keep: list[Any] | None = None) -> Any:
    """A deep copy of `value` in which the objects in `keep` stay themselves: a topic, a table or a rule that
    points back at its backend keeps pointing at the live backend (copying the backend through such a
    reference would give a second, half-filled one)."""
    with _locks_copied_new():
        return copy.deepcopy(value, {id(kept): kept for kept in keep or []})


def _backends() -> list[Any]:
    """Every moto backend that exists now (one per service, account and region used) but STS's: the role
    sessions it issued stay valid, so the functions' containers stay warm with their clients, as after a
    deploy (their keys expire in emulated time, later than the instant the clock goes back to)."""
    return [
        backend
        for service in list(BackendDict._instances)  # type: ignore[misc]  # as moto's own reset reads it
        for account in list(service.values())
        for backend in list(account.values())
        if type(backend).__module__ != sts_models.__name__
    ]


def _state(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record) if f.name not in _LIVE}


@dataclass
class _Kept:
    state: dict[str, Any]  # a record's fields but its live ones, deep-copied
    loaded: bool  # a model server was loaded


class AsDeployed:
    """The emulator as it was when `take()` ran; `restore()` puts it back (see the module docstring)."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.at: datetime = emu.clock.now()
        self.speed = emu.clock.speed
        self._backends: list[Any] = []
        self._backend_states: list[dict[str, Any]] = []
        self._components: dict[Any, _Kept] = {}
        self._instances: dict[Any, Any] = {}
        self._serverless: dict[Any, _Kept] = {}
        self._logs: dict[str, Any] = {}
        self._switches = replace(emu.sagemaker.switches)
        self._serverless_switches = replace(emu.serverless.switches)

    @classmethod
    def take(cls, emu: Emulator) -> AsDeployed:
        kept = cls(emu)
        with kept._still():
            kept._keep()
        return kept

    def restore(self) -> None:
        with self._still():
            self._put_back()
            self.emu.clock.rewind(self.at, self.speed)

    # -- stopping and starting what runs ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _still(self) -> Iterator[None]:
        """Stop the scheduler, the alarm rounds and every execution and transition; wait until nothing but this
        thread uses the clock; run the block; start the scheduler and the alarm rounds again."""
        emu = self.emu
        emu.scheduler.stop()
        emu.alarms.stop()
        stepfunctions.StepFunctionsSwitches.emit_status_events = False  # stopped executions notify no rule
        try:
            emu._stop_executions()
            registry = emu.sagemaker
            with registry.lock:  # cancels every transition, delete and release in progress (sagemaker.py)
                for ic in registry.components.values():
                    ic.generation += 1
                for instances in registry.endpoints.values():
                    instances.generation += 1
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

    # -- keeping ----------------------------------------------------------------------------------------------
    def _keep(self) -> None:
        emu = self.emu
        self.at, self.speed = emu.clock.now(), emu.clock.speed
        self._backends = _backends()
        self._backend_states = _deepcopy([backend.__dict__ for backend in self._backends], self._backends)
        registry, serverless = emu.sagemaker, emu.serverless
        with registry.lock:
            self._components = {
                key: _Kept(_deepcopy(_state(ic)), ic.server is not None) for key, ic in registry.components.items()
            }
            self._instances = _deepcopy(registry.endpoints)
            self._switches = replace(registry.switches)
        with serverless.lock:
            self._serverless = {
                key: _Kept(_deepcopy(_state(endpoint)), endpoint.server is not None)
                for key, endpoint in serverless.endpoints.items()
            }
            self._serverless_switches = replace(serverless.switches)
        self._logs = _deepcopy(
            {
                "invocations": len(emu.lambdas.invocations),
                "delivered": len(events.DELIVERED),
                "emitted": len(stepfunctions.EMITTED),
                "activities": autoscaling.ACTIVITIES,
                "firings": len(emu.scheduler.firings),
                "schedule_checks": emu.scheduler._last,
                "alarm_events": len(emu.alarms.events),
                "alarm_rounds": (
                    emu.alarms._seen_executions,
                    emu.alarms._last_minute,
                    emu.alarms._last_period,
                    emu.alarms._evaluated,
                ),
            }
        )

    # -- putting back -----------------------------------------------------------------------------------------
    def _put_back(self) -> None:
        emu = self.emu
        states = _deepcopy(self._backend_states, self._backends)
        kept = {id(backend): state for backend, state in zip(self._backends, states, strict=True)}
        for backend in _backends():
            state = kept.get(id(backend))
            if state is None:
                backend.reset()  # a service, account or region first used after the deploy
            else:
                backend.__dict__.clear()
                backend.__dict__.update(state)
        self._put_back_components()
        self._put_back_serverless()
        logs = _deepcopy(self._logs)
        del emu.lambdas.invocations[logs["invocations"] :]
        del events.DELIVERED[logs["delivered"] :]
        del stepfunctions.EMITTED[logs["emitted"] :]
        autoscaling.ACTIVITIES.clear()
        autoscaling.ACTIVITIES.update(logs["activities"])
        del emu.scheduler.firings[logs["firings"] :]
        emu.scheduler._last = logs["schedule_checks"]
        del emu.alarms.events[logs["alarm_events"] :]
        alarms = emu.alarms
        alarms._seen_executions, alarms._last_minute, alarms._last_period, alarms._evaluated = logs["alarm_rounds"]

    def _put_back_components(self) -> None:
        registry = self.emu.sagemaker
        registry.threads.clear()  # each ended: the clock was quiet
        with registry.lock:
            registry.faults = sagemaker.Faults()
            registry.switches = replace(self._switches)
            components = _put_back_records(
                registry.components, self._components, sagemaker.InferenceComponent, sagemaker._release
            )
            for ic, _ in components:
                ic.generation += 1  # no transition of before the reset may touch it
            generations = {key: instances.generation for key, instances in registry.endpoints.items()}
            registry.endpoints.clear()
            for key, instances in _deepcopy(self._instances).items():
                instances.generation = max(instances.generation, generations.get(key, 0)) + 1
                registry.endpoints[key] = instances
        for ic, kept in components:
            if kept.loaded and ic.server is None:  # released since the deploy: load it again, as deployed
                ic.server = registry.switches.model_server_factory(ic)

    def _put_back_serverless(self) -> None:
        serverless = self.emu.serverless
        with serverless.lock:
            serverless.faults = sagemaker_serverless.Faults()
            serverless.switches = replace(self._serverless_switches)
            endpoints = _put_back_records(
                serverless.endpoints,
                self._serverless,
                sagemaker_serverless.ServerlessEndpoint,
                sagemaker_serverless._release_server,
            )
            for endpoint, kept in endpoints:
                if kept.loaded and endpoint.server is None:
                    endpoint.server = serverless.switches.model_server_factory(endpoint.environment)


def _put_back_records(
    live: dict[Any, Any], kept: dict[Any, _Kept], make: Callable[..., Any], release: Callable[[Any], None]
) -> list[tuple[Any, _Kept]]:
    """Records (inference components, serverless endpoints) as kept: one made since released and dropped, one
    deleted since made again, the others' fields set back in place (so whoever holds one sees it put back); a
    model server loaded since released. Each live record with how it was kept."""
    for key in set(live) - set(kept):
        release(live.pop(key))
    out = []
    for key, was in kept.items():
        state = _deepcopy(was.state)
        record = live.get(key)
        if record is None:
            record = live[key] = make(**state)
        else:
            for name, value in state.items():
                setattr(record, name, value)
        if not was.loaded:
            release(record)
        out.append((record, was))
    return out
