"""Request traces for the simulator: a CSV of timestamps (with optional wake intent) or a synthetic US week."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

# Days are cut at midnight in this zone: it is where the night window opens (00:00 America/Los_Angeles).
WINDOW_TZ = "America/Los_Angeles"


@dataclass(frozen=True)
class Request:
    """One invocation. `wake_lead_seconds` set: the product called /wake that long before sending it."""

    at: datetime
    wake_lead_seconds: float | None = None


@dataclass(frozen=True)
class Trace:
    """Requests in time order and the window [start, end) that is billed."""

    requests: tuple[Request, ...]
    start: datetime
    end: datetime
    source: str

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("trace window must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("trace window is empty")

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def split(self, warm_days: int) -> tuple[tuple[datetime, ...], Trace]:
        """(history, scored): the first `warm_days` days become history for the learning policies and every
        policy is scored on the rest, so the planner never learns from what it is scored on."""
        cut = self.start + timedelta(days=warm_days)
        if cut >= self.end:
            raise ValueError(f"{self.source}: {warm_days} days of warm-up leave nothing to score")
        history = tuple(r.at for r in self.requests if r.at < cut)
        scored = tuple(r for r in self.requests if r.at >= cut)
        note = f"{self.source}, scored after {warm_days} warm-up days"
        return history, Trace(scored, cut, self.end, note)

    def with_intent_lead(self, seconds: float | None) -> Trace:
        """The same requests with every wake intent moved to `seconds` before its request (None: no intents)."""
        requests = tuple(
            replace(r, wake_lead_seconds=None if seconds is None else seconds) if r.wake_lead_seconds is not None else r
            for r in self.requests
        )
        suffix = "no intent" if seconds is None else f"intent lead {seconds / 60:g} min"
        return replace(self, requests=requests, source=f"{self.source}, {suffix}")


def _local_midnight(moment: datetime, tz: str, *, after: bool) -> datetime:
    zone = ZoneInfo(tz)
    day = moment.astimezone(zone).date()
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    if after and midnight <= moment:
        midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return midnight.astimezone(UTC)


# The simulator replays minute by minute with idle checks every few minutes: a trace spanning years (one
# mistyped year in a row) would run for hours, so a span beyond this is refused with the rows that make it.
MAX_TRACE_DAYS = 366
HEADER = ("timestamp", "wake_lead_seconds")


# The replay reaches days and weeks either side of its rows (whole local days, the planner's history and week
# ahead), which Python's dates end near years 1 and 9999 cannot hold: a row outside these years (a mistyped one)
# is refused with its line, not left to overflow in the middle of the replay.
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def _parse_timestamp(text: str, default_tz: ZoneInfo) -> datetime:
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        try:
            moment = datetime.fromtimestamp(seconds, tz=UTC)
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"timestamp {text!r} is out of range for Unix seconds") from None
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"timestamp {text!r} is neither ISO 8601 (2025-05-06T14:00:00Z) nor Unix seconds"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=default_tz)
    try:
        moment = moment.astimezone(UTC)
        within = EARLIEST <= moment < LATEST
    except OverflowError:  # an offset that takes it past year 1 or 9999
        within = False
    if not within:
        raise ValueError(
            f"timestamp {text!r} is out of range: the simulator replays years {EARLIEST.year}-{LATEST.year - 1}"
        )
    return moment


def _parse_lead(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        lead = float(text)
    except ValueError:
        raise ValueError(f"wake_lead_seconds {text!r} is not a number (leave it empty for no /wake intent)") from None
    if lead < 0 or not math.isfinite(lead):
        raise ValueError(f"wake_lead_seconds {text!r} must be a non-negative number")
    return lead


def _is_header(row: list[str]) -> bool:
    """A first row whose first cell is words (no digit) is a header; one with digits is a row, good or bad."""
    return not any(ch.isdigit() for ch in row[0])


def load_csv(path: Path, *, naive_tz: str = "UTC") -> Trace:
    """Read `timestamp[,wake_lead_seconds]` rows (header optional); the window is whole local days around them.

    timestamp: ISO 8601 (offset or Z; without one, `naive_tz`) or Unix seconds. wake_lead_seconds: empty for a
    request with no intent, else how many seconds before it the product called /wake. Every error names the
    file and line (`file:line: why`).
    """
    zone = ZoneInfo(naive_tz)
    rows: list[tuple[datetime, float | None, int]] = []
    seen_data = False
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            for row in reader:
                line = reader.line_num
                if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                    continue
                if not seen_data:
                    seen_data = True
                    if _is_header(row):
                        names = tuple(cell.strip().lower() for cell in row)
                        if names != HEADER[: len(names)]:
                            raise ValueError(
                                f"{path}:{line}: the header must be 'timestamp' or 'timestamp,wake_lead_seconds', "
                                f"got {','.join(row)!r}"
                            )
                        continue
                if len(row) > len(HEADER):
                    raise ValueError(
                        f"{path}:{line}: {len(row)} fields; a row is timestamp[,wake_lead_seconds] (2 at most)"
                    )
                try:
                    rows.append((_parse_timestamp(row[0], zone), _parse_lead(row[1] if len(row) > 1 else ""), line))
                except ValueError as exc:
                    raise ValueError(f"{path}:{line}: {exc}") from None
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not a UTF-8 text file (a CSV of timestamp[,wake_lead_seconds])") from None
        except csv.Error as exc:
            raise ValueError(f"{path}:{reader.line_num}: {exc}") from None
    if not rows:
        raise ValueError(f"{path}: no requests (rows of timestamp[,wake_lead_seconds])")
    rows.sort(key=lambda r: r[0])
    first, last = rows[0], rows[-1]
    days = (last[0] - first[0]).total_seconds() / 86400
    if days > MAX_TRACE_DAYS:
        raise ValueError(
            f"{path}: the requests span {days:.0f} days, from line {first[2]} ({first[0]:%Y-%m-%d}) to line "
            f"{last[2]} ({last[0]:%Y-%m-%d}); the simulator replays at most {MAX_TRACE_DAYS} days"
        )
    requests = [Request(at, lead) for at, lead, _ in rows]
    start = _local_midnight(requests[0].at, WINDOW_TZ, after=False)
    end = _local_midnight(requests[-1].at, WINDOW_TZ, after=True)
    return Trace(tuple(requests), start, end, source=str(path))


# Sessions started per hour in one zone, by local hour: a speech-language pathologist's working day,
# a lunch dip, some evening homework practice, almost nothing at night.
_WEEKDAY_SESSIONS = [0.03] * 6 + [
    0.3,
    1.5,
    3.5,
    4.0,
    4.0,
    3.0,
    2.0,
    3.5,
    4.0,
    3.5,
    2.5,
    1.2,
    0.8,
    0.6,
    0.4,
    0.2,
    0.08,
    0.04,
]
_WEEKEND_SESSIONS = [0.02] * 8 + [0.15] * 10 + [0.08] * 4 + [0.03] * 2
# Where the users are: share of sessions per US time zone.
_ZONES = {"America/New_York": 0.47, "America/Chicago": 0.29, "America/Denver": 0.07, "America/Los_Angeles": 0.17}


@dataclass(frozen=True)
class SyntheticWeek:
    """Knobs of the built-in week. Sessions are bursts of short clips; a share of them announce themselves."""

    seed: int = 7
    first_day: date = date(2025, 5, 5)  # a Monday, away from DST changes
    days: int = 7
    sessions_scale: float = 1.0
    mean_clips_per_session: float = 12.0
    clip_gap_seconds: tuple[float, float] = (15.0, 75.0)
    intent_share: float = 0.6
    intent_lead_seconds: tuple[float, float] = (120.0, 480.0)
    # Who announces themselves, the arrivals unchanged: None, `intent_share` of the sessions. Set, this share of
    # them, the same sessions first: intent_share draws the arrivals' random stream (a session's announcement
    # takes a draw and its lead one more), so changing it moves every later arrival; a session is announced here
    # when its draw is under `announced_share`, with its own lead if `intent_share` announced it too, else a lead
    # from a second stream. What a share of announced sessions is worth, on the same users (make_trace.py
    # --announced-share; sleepwake simulate --intent-share).
    announced_share: float | None = None
    # Where the users are (IANA zone, share of sessions), and days that look like a weekend (holidays).
    zones: tuple[tuple[str, float], ...] = tuple(_ZONES.items())
    holidays: tuple[date, ...] = ()
    # From `shift_from` on, every zone's users come `shift_hours` later (a new customer, a changed timetable).
    shift_from: date | None = None
    shift_hours: int = 0

    def __post_init__(self) -> None:
        for name in ("intent_share", "announced_share"):
            share = getattr(self, name)
            if share is not None and not 0 <= share <= 1:
                raise ValueError(f"{name} {share:g} must be between 0 and 1")

    def build(self) -> Trace:
        rng = np.random.default_rng(self.seed)
        leads = np.random.default_rng([self.seed, 1])  # the leads of sessions only announced_share announces
        start = datetime.combine(self.first_day, time(0), tzinfo=ZoneInfo(WINDOW_TZ)).astimezone(UTC)
        end = start + timedelta(days=self.days)
        requests: list[Request] = []
        minutes = int((end - start).total_seconds() // 60)
        for tz, share in self.zones:
            zone = ZoneInfo(tz)
            for minute in range(minutes):
                moment = start + timedelta(minutes=minute)
                local = moment.astimezone(zone)
                workday = local.weekday() < 5 and local.date() not in self.holidays
                table = _WEEKDAY_SESSIONS if workday else _WEEKEND_SESSIONS
                shifted = self.shift_from is not None and local.date() >= self.shift_from
                hour = (local.hour - self.shift_hours) % 24 if shifted else local.hour
                rate = table[hour] * share * self.sessions_scale / 60
                for _ in range(rng.poisson(rate)):
                    requests.extend(self._session(rng, leads, moment + timedelta(seconds=float(rng.uniform(0, 60)))))
        requests = [r for r in requests if r.at < end]
        requests.sort(key=lambda r: r.at)
        return Trace(tuple(requests), start, end, source=f"synthetic US week (seed {self.seed})")

    def earlier_weeks(self, weeks: int) -> tuple[datetime, ...]:
        """History for the learning policies: the `weeks` before this trace, from the same generator with other
        seeds (seed + 1000 k for the k-th week back), never from the scored requests themselves."""
        moments: list[datetime] = []
        for k in range(1, weeks + 1):
            earlier = replace(self, seed=self.seed + 1000 * k, first_day=self.first_day - timedelta(days=7 * k))
            moments.extend(r.at for r in earlier.build().requests)
        return tuple(sorted(moments))

    def _session(self, rng: np.random.Generator, leads: np.random.Generator, begin: datetime) -> list[Request]:
        clips = int(rng.geometric(1 / self.mean_clips_per_session))  # >= 1, mean as configured
        draw = rng.random()
        lead = float(rng.uniform(*self.intent_lead_seconds)) if draw < self.intent_share else None
        if self.announced_share is not None:
            own = float(leads.uniform(*self.intent_lead_seconds))  # drawn for every session: the stream stays aligned
            lead = (own if lead is None else lead) if draw < self.announced_share else None
        out = [Request(begin, lead)]
        at = begin
        for _ in range(clips - 1):
            at = at + timedelta(seconds=float(rng.uniform(*self.clip_gap_seconds)))
            out.append(Request(at))
        return out
