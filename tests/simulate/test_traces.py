"""Request traces: the CSV format users write, and the built-in synthetic week."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sleepwake.core import QuietHours
from sleepwake_cli.simulate.trace import SyntheticWeek, load_csv


def test_csv_reads_iso_and_unix_timestamps_with_optional_wake_leads(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text(
        "timestamp,wake_lead_seconds\n"
        "2025-05-06T14:00:00Z,300\n"
        "2025-05-06T10:05:00-04:00,\n"
        "# a comment\n"
        "1746540000\n"  # 2025-05-06T14:00:00Z as Unix seconds
        "2025-05-06 09:00:00\n"  # no offset: --naive-tz
    )
    tr = load_csv(path, naive_tz="America/Chicago")

    ats = [r.at for r in tr.requests]
    assert ats == sorted(ats)
    assert datetime(2025, 5, 6, 14, 0, tzinfo=UTC) in ats
    assert datetime(2025, 5, 6, 14, 5, tzinfo=UTC) in ats
    assert datetime(2025, 5, 6, 14, 0, tzinfo=UTC) == tr.requests[0].at
    assert [r.wake_lead_seconds for r in tr.requests].count(300.0) == 1
    # The window is whole days cut at midnight Los_Angeles around the requests.
    la = ZoneInfo("America/Los_Angeles")
    assert tr.start == datetime(2025, 5, 6, tzinfo=la)
    assert tr.end == datetime(2025, 5, 7, tzinfo=la)


def test_csv_rejects_a_negative_wake_lead(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("2025-05-06T14:00:00Z,-5\n")
    with pytest.raises(ValueError, match=r"bad\.csv:1"):
        load_csv(path)


def test_the_synthetic_week_is_reproducible_from_its_seed() -> None:
    first, again, other = SyntheticWeek(seed=3).build(), SyntheticWeek(seed=3).build(), SyntheticWeek(seed=4).build()
    assert first.requests == again.requests
    assert first.requests != other.requests
    assert first.hours == 7 * 24


def test_the_synthetic_week_is_busy_on_weekdays_sparse_at_night_and_quiet_at_weekends() -> None:
    tr = SyntheticWeek(seed=7).build()
    ny = ZoneInfo("America/New_York")
    weekday = sum(r.at.astimezone(ny).weekday() < 5 for r in tr.requests) / 5
    weekend = sum(r.at.astimezone(ny).weekday() >= 5 for r in tr.requests) / 2
    quiet = QuietHours.parse("cron(0 0 * * ? *)", "America/Los_Angeles", "cron(0 7 * * ? *)", "America/New_York")
    at_night = sum(quiet.is_quiet(r.at) for r in tr.requests)

    assert weekday > 4 * weekend > 0
    assert 0 < at_night < 0.02 * len(tr.requests)
    assert any(r.wake_lead_seconds for r in tr.requests)


def test_the_held_out_trace_has_weeks_a_holiday_a_drift_short_intents_and_users_abroad(tmp_path: Path) -> None:
    out = tmp_path / "held-out.csv"
    script = Path(__file__).resolve().parents[2] / "scripts" / "make_trace.py"
    subprocess.run([sys.executable, str(script), "--profile", "held-out", str(out)], check=True, capture_output=True)
    tr = load_csv(out)
    ny = ZoneInfo("America/New_York")

    def day_requests(day: date) -> int:
        return sum(r.at.astimezone(ny).date() == day for r in tr.requests)

    assert tr.hours >= 34 * 24  # five weeks: three warm the planner, two are scored
    # Veterans Day (Tuesday 11 November) looks like a weekend next to the Tuesday before it.
    assert day_requests(date(2025, 11, 11)) < 0.25 * day_requests(date(2025, 11, 4))
    leads = [r.wake_lead_seconds for r in tr.requests if r.wake_lead_seconds is not None]
    assert leads and max(leads) <= 90  # every intent shorter than a scale-up
    # Users abroad: requests in the US night (01:00-05:00 New York) on workdays, well above the built-in week's.
    night = sum(r.at.astimezone(ny).hour in range(1, 5) for r in tr.requests)
    assert night > 0.03 * len(tr.requests)

    # The drift: from 5 November users come an hour later; the mean daytime hour (New York, workdays, after the
    # clocks went back on 2 November) moves by about that much.
    def mean_hour(days: tuple[date, ...]) -> float:
        hours = [
            local.hour + local.minute / 60
            for local in (r.at.astimezone(ny) for r in tr.requests)
            if local.date() in days and 6 <= local.hour < 23
        ]
        return sum(hours) / len(hours)

    before = mean_hour((date(2025, 11, 3), date(2025, 11, 4)))
    after = mean_hour((date(2025, 11, 5), date(2025, 11, 6), date(2025, 11, 7), date(2025, 11, 10)))
    assert 0.5 < after - before < 1.5


def test_simulate_intent_share_changes_who_announces_not_who_comes() -> None:
    """`sleepwake simulate --intent-share`: the built-in week's users and its planner history are the same at any
    share, so two runs differ only by the intents."""
    from sleepwake_cli.main import build_parser
    from sleepwake_cli.simulate.base import SimulationSettings
    from sleepwake_cli.simulate.cli import learning_history

    runs = {}
    for share in ("0.6", "0.95"):
        args = build_parser().parse_args(["simulate", "--intent-share", share])
        runs[share] = learning_history(args, SimulationSettings())
    (few, few_history, _), (many, many_history, _) = runs["0.6"], runs["0.95"]
    assert [r.at for r in few.requests] == [r.at for r in many.requests]
    assert few_history == many_history
    assert few.requests == SyntheticWeek(seed=SimulationSettings().seed).build().requests  # the default: as made
    intents = [{r.at: r.wake_lead_seconds for r in t.requests if r.wake_lead_seconds is not None} for t in (few, many)]
    assert intents[0].items() < intents[1].items()  # the same announced users with their own leads, and more
