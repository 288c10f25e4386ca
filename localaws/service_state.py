"""The hook through which a stack's reset (localaws.stack_reset) keeps and puts back each emulated service: every
service with records of its own (beyond moto's backends) has a `snapshot()` that keeps them as they are now and
returns the `Restore` that puts them back, as often as it is called. The reset asks each service
(`Emulator.snapshot`) and reads none of their records itself.

A `Restore` runs with nothing running (the reset stops executions, transitions and rounds, and waits until the
clock is quiet); the reset sets the clock back to the instant of the snapshot after every service is put back.

Not an AWS behaviour: AWS cannot put a service back in time. moto's own reset API (`moto_api_backend.reset`,
what `Emulator.reset` calls) forgets every resource instead; a snapshot keeps them.
"""

from __future__ import annotations

import contextlib
import copy
import copyreg
import threading
from collections.abc import Callable, Iterator, MutableMapping, MutableSequence
from dataclasses import dataclass, fields
from typing import Any

from moto.core.base_backend import BackendDict
from moto.sts import models as sts_models

Restore = Callable[[], None]  # puts a service back as its snapshot() found it
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


def deepcopy(value: Any, keep: list[Any] | None = None) -> Any:
    """A deep copy of `value` in which the objects in `keep` stay themselves: a topic, a table or a rule that
    points back at its backend keeps pointing at the live backend (copying the backend through such a
    reference would give a second, half-filled one). Locks in it are made anew."""
    with _locks_copied_new():
        return copy.deepcopy(value, {id(kept): kept for kept in keep or []})


def log_snapshot(log: MutableSequence[Any]) -> Restore:
    """A log that only grows (requests delivered, events emitted): put back to its length now."""
    length = len(log)

    def restore() -> None:
        del log[length:]

    return restore


def mapping_snapshot(mapping: MutableMapping[Any, Any]) -> Restore:
    """A mapping put back to its contents now (deep-copied each time)."""
    kept = deepcopy(dict(mapping))

    def restore() -> None:
        mapping.clear()
        mapping.update(deepcopy(kept))

    return restore


def moto_snapshot() -> Restore:
    """Every moto backend that exists now (one per service, account and region used): the state table's items,
    schedules, scaling targets and policies, alarms and their states, metrics, rules, topics, queues,
    executions, IAM users, roles and policies; one deep copy, so what backends share stays shared. STS's is not
    kept: the role sessions it issued stay valid, so the functions' containers stay warm with their clients, as
    after a deploy (their keys expire in emulated time, later than the instant the clock goes back to). A
    backend first used after the snapshot is reset."""
    backends = _moto_backends()
    states = deepcopy([backend.__dict__ for backend in backends], backends)

    def restore() -> None:
        kept = {id(b): state for b, state in zip(backends, deepcopy(states, backends), strict=True)}
        for backend in _moto_backends():
            state = kept.get(id(backend))
            if state is None:
                backend.reset()
            else:
                backend.__dict__.clear()
                backend.__dict__.update(state)

    return restore


def _moto_backends() -> list[Any]:
    return [
        backend
        for service in list(BackendDict._instances)  # type: ignore[misc]  # as moto's own reset reads it
        for account in list(service.values())
        for backend in list(account.values())
        if type(backend).__module__ != sts_models.__name__
    ]


@dataclass
class KeptRecord:
    """A record (an inference component, a serverless endpoint) as kept: its fields but its live ones (model
    server, locks, transition generation), deep-copied, and whether a model server was loaded."""

    state: dict[str, Any]
    loaded: bool


def keep_records(records: dict[Any, Any]) -> dict[Any, KeptRecord]:
    return {
        key: KeptRecord(
            deepcopy({f.name: getattr(record, f.name) for f in fields(record) if f.name not in _LIVE}),
            record.server is not None,
        )
        for key, record in records.items()
    }


def put_back_records(
    live: dict[Any, Any], kept: dict[Any, KeptRecord], make: Callable[..., Any], release: Callable[[Any], None]
) -> list[tuple[Any, KeptRecord]]:
    """Records as kept: one made since released and dropped, one deleted since made again, the others' fields
    set back in place (so whoever holds one sees it put back); a model server loaded since released. Each live
    record with how it was kept: the caller loads a model server again where one was loaded (`loaded`) and none
    is now (outside its lock: a load takes seconds)."""
    for key in set(live) - set(kept):
        release(live.pop(key))
    out = []
    for key, was in kept.items():
        state = deepcopy(was.state)
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
