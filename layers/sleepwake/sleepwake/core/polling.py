"""When a wake polls its copies: soon enough that time-to-ready stays near the provisioning floor, rarely
enough that a wake costs a handful of Lambda invocations.

A copy comes up in one of two phases (docs/design.md, "Polling a wake"): on an instance the endpoint still
has (AWS keeps instances ~10 min after all its copies reach 0) it only loads the model; otherwise a new
instance comes first. The first poll waits most of the expected phase; after it the wait grows with the time
already spent (`poll_growth` of it, never below the poll interval), so a copy that arrives at any time after
the first poll is seen within `max(poll_interval, poll_growth x elapsed)` of arriving, and a wake that took
the wrong phase (a full instance, a slow load) costs a few more polls, not dozens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sleepwake.core.model import ObservedCopies, Policy, State, StateRecord


@dataclass(frozen=True)
class FirstPoll:
    seconds: int
    instance_present: bool
    reason: str


def plan_first_poll(
    observed: ObservedCopies, record: StateRecord, now: datetime, policy: Policy, *, instances: int | None
) -> FirstPoll:
    """How long a starting wake waits before its first poll.

    `instances` is the endpoint's CurrentInstanceCount (None when it could not be read). A present instance
    may still be full with another component's copies: then the first poll comes early and the growing
    interval covers the new instance's time with a few more polls."""
    if observed.current > 0 or observed.desired > 0:
        return FirstPoll(policy.first_poll_on_instance_seconds, True, "the component has copies: its instance is up")
    if instances is not None:
        if instances > 0:
            return FirstPoll(
                policy.first_poll_on_instance_seconds, True, f"the endpoint still has {instances} instance(s)"
            )
        return FirstPoll(policy.first_poll_seconds, False, "the endpoint has no instance: a new one comes first")
    # Unknown instance count: guess from when this component reached 0 (other components may keep it longer).
    if record.state == State.ASLEEP and record.since is not None:
        asleep_for = (now - record.since).total_seconds()
        if asleep_for < policy.instance_release_seconds:
            return FirstPoll(
                policy.first_poll_on_instance_seconds,
                True,
                f"asleep for {asleep_for:.0f}s, under the {policy.instance_release_seconds}s before instances go",
            )
        return FirstPoll(policy.first_poll_seconds, False, f"asleep for {asleep_for:.0f}s: the instance has gone")
    return FirstPoll(policy.first_poll_seconds, False, f"instance count unknown, state {record.state.value}")


def expected_provisioning(first_poll: FirstPoll, policy: Policy) -> int:
    """Seconds until a copy serves, by the wake's phase: on an instance that is still there the copy only
    loads the model (the first poll on an instance waits most of that); otherwise a new instance comes first
    (the provisioning estimate)."""
    return (
        policy.first_poll_on_instance_seconds if first_poll.instance_present else policy.provisioning_estimate_seconds
    )


def next_poll_seconds(elapsed_seconds: float, policy: Policy, *, poll_seconds: int | None = None) -> int:
    """The wait before the next poll, `elapsed_seconds` after the scale-up was asked for."""
    interval = poll_seconds or policy.poll_interval_seconds
    return max(interval, math.floor(policy.poll_growth * max(elapsed_seconds, 0.0)))


def poll_times(first_poll_seconds: int, arrival_seconds: float, policy: Policy) -> list[float]:
    """Every poll of a wake whose copy serves `arrival_seconds` after the ask: the last one sees it.
    (What the state machine does, as numbers: docs/design.md's table and `make bench-wake` use it.)"""
    times = [float(first_poll_seconds)]
    while times[-1] < arrival_seconds:
        times.append(times[-1] + next_poll_seconds(times[-1], policy))
    return times
