"""Night/day windows from EventBridge Scheduler cron expressions in IANA time zones (DST-correct).

Only the cron shapes a daily sleep/wake schedule needs are accepted: a fixed minute and hour, every day
(`cron(0 7 * * ? *)`) or on listed weekdays (`cron(0 7 ? * MON-FRI *)`). Anything else is rejected with
a message, so a schedule the core cannot reason about never reaches AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
_CRON = re.compile(r"^cron\((?P<body>[^)]*)\)$")


def _parse_days(field: str) -> frozenset[int]:
    """Weekday numbers (Mon=0) from an EventBridge day-of-week field such as MON-FRI or SAT,SUN or 1-5."""
    if field in ("*", "?"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in field.upper().split(","):
        bounds = part.split("-")
        if len(bounds) > 2 or not all(bounds):
            raise ValueError(f"unsupported day-of-week {field!r}")
        idx = [_day_index(b) for b in bounds]
        lo, hi = idx[0], idx[-1]
        days.update(range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(0, hi + 1)])
    return frozenset(days)


def _day_index(token: str) -> int:
    if token in _DAYS:
        return _DAYS.index(token)
    if token.isdigit() and 1 <= int(token) <= 7:  # EventBridge: 1 = SUN ... 7 = SAT
        return (int(token) - 2) % 7
    raise ValueError(f"unknown day {token!r}")


@dataclass(frozen=True)
class DailyCron:
    """A once-a-day instant (minute, hour, optional weekdays) in a time zone."""

    hour: int
    minute: int
    tz: str
    weekdays: frozenset[int] = frozenset(range(7))

    @classmethod
    def parse(cls, expression: str, tz: str) -> DailyCron:
        match = _CRON.match(expression.strip())
        if not match:
            raise ValueError(f"{expression!r} is not a cron(...) expression")
        fields = match.group("body").split()
        if len(fields) != 6:
            raise ValueError(f"{expression!r} needs 6 fields: minute hour day-of-month month day-of-week year")
        minute, hour, dom, month, dow, year = fields
        if not (minute.isdigit() and hour.isdigit()):
            raise ValueError(f"{expression!r}: minute and hour must be fixed numbers for a daily schedule")
        if month != "*" or year not in ("*",) or (dom not in ("*", "?")):
            raise ValueError(f"{expression!r}: only daily or weekday schedules are supported")
        if int(hour) > 23 or int(minute) > 59:
            raise ValueError(f"{expression!r}: hour or minute out of range")
        ZoneInfo(tz)  # raises ZoneInfoNotFoundError for an unknown zone
        return cls(hour=int(hour), minute=int(minute), tz=tz, weekdays=_parse_days(dow))

    def at(self, day: date) -> datetime | None:
        """The instant this schedule fires on a local calendar day, in UTC; None when it does not fire.

        As EventBridge Scheduler does: a local time skipped by a spring-forward change does not fire that day
        ("your schedule invocation gets skipped if the cron expression falls on a non-existent date and
        time"); a repeated local time (fall back) fires once, at its first occurrence.
        """
        zone = ZoneInfo(self.tz)
        local = datetime.combine(day, time(self.hour, self.minute), tzinfo=zone)
        # In UTC, because datetimes in a gap or fold never compare equal across zones (PEP 495); fold=0
        # takes the first of a repeated time. A time in a gap does not survive the round trip.
        fire = local.astimezone(UTC)
        if fire.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
            return None
        return fire

    def previous(self, now: datetime) -> datetime:
        """The latest firing at or before `now`."""
        local_day = now.astimezone(ZoneInfo(self.tz)).date()
        for back in range(0, 9):
            day = local_day - timedelta(days=back)
            if day.weekday() in self.weekdays:
                fire = self.at(day)
                if fire is not None and fire <= now:
                    return fire
        raise ValueError("schedule never fires")  # pragma: no cover - weekdays is never empty

    def next(self, now: datetime) -> datetime:
        """The earliest firing strictly after `now`."""
        local_day = now.astimezone(ZoneInfo(self.tz)).date()
        for ahead in range(0, 9):
            day = local_day + timedelta(days=ahead)
            if day.weekday() in self.weekdays:
                fire = self.at(day)
                if fire is not None and fire > now:
                    return fire
        raise ValueError("schedule never fires")  # pragma: no cover


@dataclass(frozen=True)
class QuietHours:
    """The night: from the sleep schedule's firing to the wake schedule's next firing."""

    sleep: DailyCron
    wake: DailyCron

    @classmethod
    def parse(cls, sleep_cron: str, sleep_tz: str, wake_cron: str, wake_tz: str) -> QuietHours:
        return cls(DailyCron.parse(sleep_cron, sleep_tz), DailyCron.parse(wake_cron, wake_tz))

    def is_quiet(self, now: datetime) -> bool:
        """True when the last sleep firing is more recent than the last wake firing."""
        _require_aware(now)
        return self.sleep.previous(now) > self.wake.previous(now)

    def next_sleep(self, now: datetime) -> datetime:
        return self.sleep.next(now)

    def next_wake(self, now: datetime) -> datetime:
        return self.wake.next(now)

    def awake_spans(self, day: date, tz: str) -> list[tuple[datetime, datetime]]:
        """The stretches of local `day` (in `tz`) outside the quiet hours: what the crons keep awake."""
        zone = ZoneInfo(tz)
        at = datetime.combine(day, time(0), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        spans, awake = [], not self.is_quiet(at)
        while at < end:
            turn = min(self.next_sleep(at) if awake else self.next_wake(at), end).astimezone(zone)
            if awake:
                spans.append((at, turn))
            at, awake = turn, not awake
        return spans


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
