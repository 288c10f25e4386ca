"""The learned schedule end to end on the local stack: seeded history, the daily plan job, its one-time wake."""

from __future__ import annotations

import contextlib
import io

from localaws.demo import Timeline
from localaws.demo_planner import ACTIVE_SPEED, START, DemoDay
from localaws.demo_report import report_of_the_night
from tests.stacks import DEMO_PROVISIONING, local_stack


def test_a_learned_day_wakes_ahead_of_the_first_planned_user_and_naps_only_outside_the_window(tmp_path):
    """History -> 00:05 plan job -> nap outside the window -> morning cron steps aside -> planned pre-wake ready
    before 09:00 (the schedule deletes itself) -> first user warm -> the idle check inside the window skips;
    then `sleepwake report` of the day agrees with the emulator, and its plan held every request."""
    out = io.StringIO()
    with (
        contextlib.redirect_stdout(io.StringIO()),
        local_stack(
            start=START,
            speed=ACTIVE_SPEED,
            provisioning_seconds=DEMO_PROVISIONING,
            parameters={},
            jump=True,
            deployment_file=tmp_path / "deployment.json",  # the report reads the stack as the operator does
        ) as local,
    ):
        began = local.now()
        day = DemoDay(local, Timeline(out))
        day.run()
        agrees, detail, got = report_of_the_night(local, began, day.tl.served, tmp_path)
    assert agrees, detail
    report = got["document"]
    plan = report["plan"]
    # The plan job's day applied; its window held both users (the warm-ups are left out), nothing came outside.
    assert plan["days_applied"] >= 1 and plan["planned_hours"] > 0
    assert plan["requests_in_windows"] == report["requests"]["served_by_component"] >= 2
    assert plan["requests_outside_windows"] == 0
    assert report["traffic"]["misses"] == 0 and report["waits"]["wakes_measured"] == 1
    phases = {p["phase"]: p["ok"] for p in day.tl.phases}
    assert all(phases.values()), out.getvalue()
    assert list(phases) == [
        "two weeks of history",
        "00:05 ET plan job",
        "nap outside the window",
        "07:00 ET cron steps aside",
        "planned pre-wake",
        "first user served",
        "idle check inside the window",
    ]
    assert day.figures["lead_over_first_user_s"] > 0
