"""The learned schedule in the simulator: its figures on the built-in week, and that it never peeks."""

from __future__ import annotations

import csv
from datetime import UTC, timedelta
from pathlib import Path

import numpy as np
import pytest

from sleepwake_cli.main import main
from sleepwake_cli.simulate.policies import SimulationSettings, SleepwakePlanner, simulate
from sleepwake_cli.simulate.trace import SyntheticWeek, Trace


@pytest.fixture(scope="module")
def built_in_week() -> dict[str, object]:
    week = SyntheticWeek(seed=7)
    return {r.key: r for r in simulate(week.build(), SimulationSettings(history=week.earlier_weeks(3)))}


def test_on_the_built_in_week_the_planner_saves_65_percent_fails_nothing_and_rarely_uses_the_fallback(
    built_in_week: dict,
) -> None:
    planner, oracle = built_in_week["sleepwake_planner"], built_in_week["oracle"]

    assert planner.failed == 0
    assert planner.saving_pct >= 65
    assert planner.served_by_fallback <= 0.03 * planner.requests
    assert oracle.saving_pct - planner.saving_pct <= 12
    assert planner.details["plans"]["learned_days"] >= 7


def test_the_hybrid_histogram_peer_is_replayed_beside_it(built_in_week: dict) -> None:
    peer = built_in_week["hybrid_histogram"]

    assert peer.failed == 0
    assert peer.details["windows_after_requests"]


def test_the_plan_for_each_simulated_day_depends_only_on_the_days_before_it() -> None:
    week = SyntheticWeek(seed=7)
    full = week.build()
    settings = SimulationSettings(history=week.earlier_weeks(3))
    cut = full.start + timedelta(days=3)
    # The same trace with everything from day 3 on replaced by a busy night: a peeking planner would change.
    noisy = tuple(r for r in full.requests if r.at < cut) + tuple(
        type(r)(cut + timedelta(hours=h, minutes=m))
        for h in range(4)
        for m in range(0, 60, 2)
        for r in full.requests[:1]
    )
    other = Trace(tuple(sorted(noisy, key=lambda r: r.at)), full.start, full.end, "noisy")

    plans = []
    for tr in (full, other):
        policy = SleepwakePlanner(tr, settings, np.random.default_rng(1))
        policy.run()
        plans.append([p for p in policy.plans if p.day <= cut.astimezone(UTC).date()])

    assert plans[0] == plans[1]
    assert len(plans[0]) >= 3


def _csv(path: Path, trace: Trace) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "wake_lead_seconds"])
        for r in trace.requests:
            writer.writerow(
                [r.at.strftime("%Y-%m-%dT%H:%M:%SZ"), "" if r.wake_lead_seconds is None else r.wake_lead_seconds]
            )
    return path


def test_a_long_csv_warms_the_planner_on_its_first_days_and_scores_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    three_weeks = SyntheticWeek(seed=3, days=21).build()
    path = _csv(tmp_path / "three-weeks.csv", three_weeks)

    assert main(["simulate", "--trace", str(path), "--out", str(tmp_path), "--no-chart", "--no-variants"]) == 0

    out = capsys.readouterr().out
    assert "planner history: the trace's first 14 days; every policy is scored on the rest" in out
    assert "scored after 14 warm-up days" in out


def test_a_short_csv_has_no_history_and_the_planner_keeps_the_crons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path / "week.csv", SyntheticWeek(seed=3).build())

    assert main(["simulate", "--trace", str(path), "--out", str(tmp_path), "--no-chart", "--no-variants"]) == 0

    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line.startswith("planner history: none (the trace has ")
    assert first_line.endswith(" days); it follows the crons until it has learned")


def test_a_one_day_csv_is_said_to_have_1_day(tmp_path: Path) -> None:
    import argparse

    from sleepwake_cli.simulate.cli import learning_history
    from sleepwake_cli.simulate.policies import SimulationSettings

    path = tmp_path / "day.csv"
    path.write_text("timestamp,wake_lead_seconds\n2026-11-24T10:00:00Z,\n2026-11-24T15:30:00Z,\n")
    args = argparse.Namespace(trace=path, naive_tz="UTC", intent_share=None)
    _, history, note = learning_history(args, SimulationSettings())
    assert history == () and note.startswith("planner history: none (the trace has 1 day);"), note


def test_on_a_day_the_crons_keep_the_planner_naps_after_nap_idle_minutes_as_the_live_idle_check() -> None:
    """sleepwake/control/sleep.py applies UnplannedIdleMinutes (5) only on a learned day outside its windows;
    on a day the crons keep (no history yet) the idle check naps after NapIdleMinutes (15), so must the
    simulator (make replay found the difference)."""
    from datetime import datetime

    from sleepwake_cli.simulate.trace import Request

    start = datetime(2025, 5, 5, 7, tzinfo=UTC)  # midnight in Los Angeles, a Monday
    at = start + timedelta(hours=6, minutes=2)  # 09:02 in New York: awake since the 07:00 cron
    trace = Trace((Request(at),), start, start + timedelta(days=1), "one request")
    policy = SleepwakePlanner(trace, SimulationSettings(), np.random.default_rng(1))
    policy.run()
    assert not policy.plans[0].learned
    naps = [t for t, copies in policy.comp.copy_changes if copies == 0 and t > at]
    # The idle checks run at :00, :15, :30, :45; the request at 09:02 keeps it awake through 09:15 (with 5
    # idle minutes it would nap then); the copy is gone within a minute of the 09:30 check.
    assert naps and timedelta(0) <= naps[0] - at.replace(minute=30) < timedelta(minutes=1)
