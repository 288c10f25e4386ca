"""EventBridge Scheduler emulation: fire the schedules stored in moto's scheduler backend at emulated times.

Supports `cron(...)` with ScheduleExpressionTimezone (daily shapes through `sleepwake.core.schedule.DailyCron`,
DST-correct; other shapes such as `cron(0/15 * * * ? *)` by a minute-by-minute matcher), `rate(N unit)`
and `at(yyyy-mm-ddThh:mm:ss)`. Targets: the templated targets for a state machine (StartExecution with the
target's Input) and a Lambda function (an Event invocation with the Input): "you can target Lambda's Invoke
operation by providing the function ARN" (EventBridge Scheduler User Guide, "Using templated targets",
docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html); the idle check, the morning
wake, the plan job and the planned wakes are such Lambda targets. `fire_now()` fires one on command. Schedules created,
updated, disabled or deleted through the API are picked up on the next tick.

A one-time `at()` schedule with ActionAfterCompletion DELETE is deleted once it has fired ("For one-time
schedules, this occurs after the schedule has invoked its target once": EventBridge Scheduler User Guide,
"Deleting a schedule in EventBridge Scheduler"; NONE or DELETE, default NONE: Scheduler API reference,
CreateSchedule); with NONE it stays and never fires again. A recurring schedule with DELETE is kept (AWS
deletes it after its last invocation before EndDate; nothing here creates one).
The plan job's planned wakes are such schedules.

Differs from AWS: no FlexibleTimeWindow jitter, RetryPolicy or dead-letter queue; StartDate/EndDate are
honoured but not validated; a generic (non-daily) cron at a local time skipped by DST is skipped and one
repeated by DST fires twice; L, W and # in cron fields are not supported; `rate` counts from when the
emulator first saw the schedule.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from moto.scheduler import models as sched_models
from moto.scheduler.models import scheduler_backends

from localaws import clock as clock_mod
from localaws import service_state
from sleepwake.core.schedule import DailyCron
from sleepwake.core.timestamps import iso

LOG = logging.getLogger(__name__)

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DOW = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]  # EventBridge: 1 = SUN


def _field(spec: str, lo: int, hi: int, names: list[str] | None = None, base: int = 0) -> frozenset[int] | None:
    """Values a cron field allows; None for '*'/'?' (anything)."""
    if spec in ("*", "?"):
        return None
    out: set[int] = set()
    for part in spec.upper().split(","):
        step = 1
        if "/" in part:
            part, step_s = part.split("/")
            step = int(step_s)
        if part == "*":
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-")
            start, end = _val(a, names, base), _val(b, names, base)
        else:
            start = _val(part, names, base)
            end = hi if "/" in spec else start
        out.update(range(start, end + 1, step))
    return frozenset(out)


def _val(token: str, names: list[str] | None, base: int) -> int:
    if names and token in names:
        return names.index(token) + base
    if not token.isdigit():
        raise ValueError(f"unsupported cron token {token!r}")
    return int(token)


@dataclass(frozen=True)
class GenericCron:
    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    dom: frozenset[int] | None
    months: frozenset[int] | None
    dow: frozenset[int] | None  # 1 = SUN .. 7 = SAT
    years: frozenset[int] | None
    tz: str

    @classmethod
    def parse(cls, expression: str, tz: str) -> GenericCron:
        body = re.fullmatch(r"cron\((.*)\)", expression.strip())
        if not body:
            raise ValueError(expression)
        f = body.group(1).split()
        if len(f) != 6:
            raise ValueError(f"{expression}: cron needs 6 fields")
        return cls(
            _field(f[0], 0, 59),
            _field(f[1], 0, 23),
            _field(f[2], 1, 31),
            _field(f[3], 1, 12, _MONTHS, 1),
            _field(f[4], 1, 7, _DOW, 1),
            _field(f[5], 1970, 2199),
            tz,
        )

    def matches(self, local: datetime) -> bool:
        dow = (local.isoweekday() % 7) + 1  # Mon=1..Sun=7 -> SUN=1..SAT=7
        return all(
            allowed is None or value in allowed
            for allowed, value in (
                (self.minutes, local.minute),
                (self.hours, local.hour),
                (self.dom, local.day),
                (self.months, local.month),
                (self.dow, dow),
                (self.years, local.year),
            )
        )

    def next(self, after: datetime) -> datetime:
        zone = ZoneInfo(self.tz)
        t = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(366 * 24 * 60):
            if self.matches(t.astimezone(zone)):
                return t
            t += timedelta(minutes=1)
        raise ValueError("cron never fires within a year")


@dataclass(frozen=True)
class Rate:
    every: timedelta
    anchor: datetime

    @classmethod
    def parse(cls, expression: str, anchor: datetime) -> Rate:
        m = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression.strip())
        if not m:
            raise ValueError(expression)
        n, unit = int(m.group(1)), m.group(2).rstrip("s")
        return cls(timedelta(**{f"{unit}s": n}), anchor)

    def next(self, after: datetime) -> datetime:
        k = int((after - self.anchor) / self.every) + 1
        return self.anchor + k * self.every


@dataclass(frozen=True)
class At:
    when: datetime

    def next(self, after: datetime) -> datetime | None:
        return self.when if self.when > after else None


def parse_expression(expression: str, tz: str | None, anchor: datetime) -> Any:
    tz = tz or "UTC"
    expression = expression.strip()
    if expression.startswith("cron("):
        try:
            return DailyCron.parse(expression, tz)
        except ValueError:
            return GenericCron.parse(expression, tz)
    if expression.startswith("rate("):
        return Rate.parse(expression, anchor)
    m = re.fullmatch(r"at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)", expression)
    if m:
        return At(datetime.fromisoformat(m.group(1)).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC))
    raise ValueError(f"unsupported schedule expression {expression!r}")


@dataclass
class Firing:
    name: str
    group: str
    scheduled_for: datetime
    fired_at: datetime
    target_arn: str
    input: str


class Scheduler:
    """Background thread that fires due schedules, in order, on the emulated clock."""

    def __init__(
        self,
        clock: Any,
        account: str,
        region: str,
        start_state_machine: Callable[[str, str, str, str], None],
        invoke_lambda: Callable[[str, str, str, str], None],
    ) -> None:
        self.clock = clock
        self.account = account
        self.region = region
        self.start_state_machine = start_state_machine
        self.invoke_lambda = invoke_lambda
        self.firings: list[Firing] = []
        self.listeners: list[Callable[[Firing], None]] = []
        self._last: dict[tuple[str, str, str], datetime] = {}  # (group, name, expression) -> last checked
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start (or, after `stop()`, start again) the thread that fires schedules."""
        self._stop.clear()
        self.clock.on_change(self._kick.set)
        _KICKS.append(self._kick)
        self._thread = self.clock.spawn(self._run, name="localaws-scheduler")  # running except while it waits

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        if self._kick in _KICKS:
            _KICKS.remove(self._kick)
        if self._thread:
            self._thread.join(timeout=5)

    def snapshot(self) -> service_state.Restore:
        """The firings so far and when each schedule was last checked (localaws.service_state), so a schedule
        put back fires as it would have from then."""
        put_back_firings = service_state.log_snapshot(self.firings)
        last = dict(self._last)

        def restore() -> None:
            put_back_firings()
            self._last = dict(last)

        return restore

    def _schedules(self) -> list[Any]:
        backend = scheduler_backends[self.account][self.region]
        return [s for g in backend.schedule_groups.values() for s in g.schedules.values()]

    def next_firings(self, now: datetime | None = None) -> list[tuple[datetime, Any]]:
        """(when, schedule) for every enabled schedule's next firing after its last check."""
        now = now or self.clock.now()
        out = []
        for s in self._schedules():
            if getattr(s, "state", "ENABLED") != "ENABLED":
                continue
            key = (s.group_name, s.name, s.schedule_expression)
            last = self._last.setdefault(key, min(getattr(s, "_localaws_stamp", now), now))
            try:
                expr = parse_expression(s.schedule_expression, s.schedule_expression_timezone, last)
            except ValueError:
                LOG.warning("schedule %s: unsupported expression %s", s.name, s.schedule_expression)
                continue
            when = expr.next(last)
            if when is None:
                continue
            end = _as_utc(getattr(s, "end_date", None))
            if end and when > end:
                continue
            start = _as_utc(getattr(s, "start_date", None))
            if start and when < start:
                when = expr.next(start - timedelta(seconds=1)) or when
            out.append((when, s))
        out.sort(key=lambda x: x[0])
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            self._kick.clear()  # before looking: a schedule made from now on ends the wait below
            try:
                due = self.tick()
            except Exception:
                LOG.exception("scheduler tick failed")
                due = None
            look = self._next_look(self.clock.now())
            self.clock.wait_until(look if due is None else min(due, look), self._kick)

    def _next_look(self, now: datetime) -> datetime:
        """When to look again for schedules created meanwhile, should one not wake this thread (creating or
        changing a schedule does, _KICKS, and the kick is cleared before each look, so none is lost).

        Running clock: short slices (0.2 wall s) pick up new schedules and clock jumps quickly. Jumping clock
        (`EmulatedClock.jump_when_idle`): each wait is a deadline the idle clock jumps to, so it waits for the
        next firing, or an hour when nothing is scheduled: slices of a few emulated seconds cost one jump each
        (300 an hour at 60x), and a look each whole minute 1,440 a day of a replayed week, as many as the alarm
        rounds (localaws.cloudwatch_alarms), which skip the minutes that can change nothing too. EventBridge
        Scheduler is silent on its precision beyond FlexibleTimeWindow (Scheduler user guide, "Schedule types"),
        so this is not a difference AWS documents."""
        if not self.clock.jumps_when_idle:
            return now + timedelta(seconds=max(1.0, 0.2 * self.clock.speed))
        return now + timedelta(hours=1)

    def tick(self) -> datetime | None:
        """Fire everything due now; return when the next one is due."""
        with self._lock:
            while True:
                now = self.clock.now()
                upcoming = self.next_firings(now)
                if not upcoming or upcoming[0][0] > now:
                    return upcoming[0][0] if upcoming else None
                when, s = upcoming[0]
                self._last[(s.group_name, s.name, s.schedule_expression)] = when
                self._fire(s, when)
                if s.schedule_expression.strip().startswith("at(") and s.action_after_completion == "DELETE":
                    self._delete(s)

    def _delete(self, s: Any) -> None:
        backend = scheduler_backends[self.account][self.region]
        try:
            backend.delete_schedule(s.group_name, s.name)
        except Exception:  # deleted through the API meanwhile
            LOG.info("schedule %s was already gone after completing", s.name)
            return
        LOG.info("schedule %s completed and was deleted (ActionAfterCompletion DELETE)", s.name)

    def fire_now(self, name: str, group: str = "default") -> Firing:
        backend = scheduler_backends[self.account][self.region]
        s = backend.get_schedule(group, name)
        return self._fire(s, self.clock.now())

    def _fire(self, s: Any, when: datetime) -> Firing:
        target = s.target
        arn = target["Arn"]
        payload = target.get("Input") or "{}"
        firing = Firing(s.name, s.group_name, when, self.clock.now(), arn, payload)
        self.firings.append(firing)
        LOG.info("schedule %s fires (due %s) -> %s", s.name, iso(when), arn)
        if ":states:" in arn:
            self.start_state_machine(self.account, self.region, arn, payload)
        elif ":lambda:" in arn:
            self.invoke_lambda(self.account, self.region, arn, payload)
        else:
            LOG.warning("schedule %s: target %s not emulated", s.name, arn)
        for listener in list(self.listeners):
            listener(firing)
        return firing


def _as_utc(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


_ORIGINAL_INIT = sched_models.Schedule.__init__
_ORIGINAL_UPDATE = sched_models.Schedule.update


_KICKS: list[threading.Event] = []  # the running schedulers' wake-ups: a schedule was created or changed


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL_INIT(self, *args, **kwargs)
    self._localaws_stamp = clock_mod.now()  # rate() and first firings count from the emulated creation time
    for kick in list(_KICKS):
        kick.set()


def _update(self: Any, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL_UPDATE(self, *args, **kwargs)
    self._localaws_stamp = clock_mod.now()
    for kick in list(_KICKS):
        kick.set()


def install() -> None:
    if sched_models.Schedule.__init__ is not _init:
        sched_models.Schedule.__init__ = _init  # type: ignore[method-assign]
        sched_models.Schedule.update = _update  # type: ignore[method-assign]
