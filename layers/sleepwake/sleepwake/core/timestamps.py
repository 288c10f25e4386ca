"""The one way times are written for people and scripts: ISO 8601 in UTC with a `Z`, as the API writes them."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime, timespec: str = "auto") -> str:
    """`2026-11-25T08:30:00Z`: the form pydantic gives the API's aware datetimes (`timespec` as in
    `datetime.isoformat`: "seconds" for sentences, "auto" keeps microseconds when there are any)."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone; every time in sleepwake is timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def compact(moment: datetime) -> str:
    """`20261125T083000Z`: ISO 8601's basic form, for names that allow no colons (Step Functions executions)."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone; every time in sleepwake is timezone-aware")
    return f"{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"
