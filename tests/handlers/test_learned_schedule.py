"""The learned schedule applied by the control plane: the plan job, the planned wakes, the fixed crons stepping
aside on learned days, the idle check inside and outside a window, and /status (moto: DynamoDB, CloudWatch,
EventBridge Scheduler, Step Functions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from sleepwake import runtime
from sleepwake.adapters.scheduler import PlannedWakes
from sleepwake.control.plane import ControlPlane
from sleepwake.control.status import status as read_status
from sleepwake.core import State, StateRecord
from tests.conftest import LambdaContext, load_event, load_handler
from tests.handlers.conftest import IC, api_event

plan_day = load_handler("plan_day")
wake_trigger = load_handler("wake_trigger")
decide_sleep = load_handler("decide_sleep")
wake_api = load_handler("wake_api")

ET = ZoneInfo("America/New_York")
TARGET = "arn:aws:lambda:us-east-1:123456789012:function:wake-trigger"
ROLE = "arn:aws:iam::123456789012:role/planned-wake"
GROUP = "sleepwake-planned"
# Tuesday 24 Nov 2026, 00:05 in the wake zone: when the daily plan job runs.
PLAN_TIME = datetime(2026, 11, 24, 0, 5, tzinfo=ET).astimezone(UTC)


def seed_history(days: int, *, first: str = "09:00", last: str = "12:00", before: datetime = PLAN_TIME) -> None:
    """Requests in every 5-minute slot from `first` to `last` (ET) on each of the `days` days before `before`."""
    cw = boto3.client("cloudwatch")
    start_h, start_m = map(int, first.split(":"))
    end_h, end_m = map(int, last.split(":"))
    points = []
    day0 = before.astimezone(ET).date()
    for back in range(1, days + 1):
        day = day0 - timedelta(days=back)
        at = datetime(day.year, day.month, day.day, start_h, start_m, tzinfo=ET)
        stop = datetime(day.year, day.month, day.day, end_h, end_m, tzinfo=ET)
        while at < stop:
            points.append(
                {
                    "MetricName": "Invocations",
                    "Value": 4,
                    "Timestamp": at.astimezone(UTC),
                    "Dimensions": [{"Name": "InferenceComponentName", "Value": IC}],
                }
            )
            at += timedelta(minutes=5)
    for i in range(0, len(points), 500):
        cw.put_metric_data(Namespace="AWS/SageMaker", MetricData=points[i : i + 500])


@pytest.fixture
def learned(stack: Any) -> Any:
    """The stack in ScheduleMode learned, with the plan job's scheduler adapter and schedule group."""
    scheduler = boto3.client("scheduler")
    scheduler.create_schedule_group(Name=GROUP)
    settings = stack.plane.settings.model_copy(
        update={
            "schedule_mode": "learned",
            "fallback_endpoint_name": "sleepwake-endpoint-fallback",  # naps outside the windows need one
            "plan_schedule_group": GROUP,
            "planned_wake_target_arn": TARGET,
            "planned_wake_role_arn": ROLE,
        }
    )
    stack.plane.aws.schedules = PlannedWakes(scheduler)
    stack.plane = ControlPlane(settings, stack.plane.aws)
    runtime.install(stack.plane)
    stack.now[0] = PLAN_TIME
    return stack


def run_plan_job() -> dict[str, Any]:
    return plan_day.handler(load_event("plan_day"), LambdaContext())


def planned_schedules() -> list[dict[str, Any]]:
    scheduler = boto3.client("scheduler")
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=GROUP)["Schedules"]]
    return [scheduler.get_schedule(Name=n, GroupName=GROUP) for n in sorted(names)]


def at_et(hour: int, minute: int, day: int = 24) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ET).astimezone(UTC)


def test_the_plan_job_schedules_one_wake_a_lead_ahead_of_each_learned_window(learned):
    seed_history(10)
    result = run_plan_job()
    assert result["mode"] == "learned" and result["history_points"] == 10 * 36
    assert [d["learned"] for d in result["days"]] == [True, True]
    schedules = planned_schedules()
    # Today's and tomorrow's window: traffic from 09:00 seen 15 minutes ahead, woken 300 s before that.
    assert [s["ScheduleExpression"] for s in schedules] == ["at(2026-11-24T08:40:00)", "at(2026-11-25T08:40:00)"]
    for s in schedules:
        assert s["ScheduleExpressionTimezone"] == "America/New_York"
        assert s["ActionAfterCompletion"] == "DELETE"
        assert (s["Target"]["Arn"], s["Target"]["RoleArn"]) == (TARGET, ROLE)
        assert json.loads(s["Target"]["Input"])["source"] == "planned"
    stored = learned.plane.aws.table.get_plan(IC)
    assert stored.schedules == result["created"] and stored.mode == "learned"
    assert stored.days[0].spans[0].wake == at_et(8, 40) and stored.days[0].spans[0].sleep == at_et(12, 0)


def test_planning_again_creates_nothing_twice_and_the_crons_mode_deletes_the_leftovers(learned):
    seed_history(10)
    first = run_plan_job()
    again = run_plan_job()
    assert (len(first["created"]), again["created"], again["deleted"]) == (2, [], [])
    crons = learned.plane.settings.model_copy(update={"schedule_mode": "crons"})
    runtime.install(ControlPlane(crons, learned.plane.aws))
    result = run_plan_job()
    assert sorted(result["deleted"]) == sorted(first["created"]) and result["created"] == []
    assert planned_schedules() == []


def test_with_too_little_history_the_crons_apply_and_the_plan_says_so(learned):
    seed_history(3)
    result = run_plan_job()
    assert result["created"] == [] and planned_schedules() == []
    assert "3 day(s) of history, fewer than 7: the configured schedules apply" in result["days"][0]["reason"]
    learned.now[0] = at_et(7, 0)
    assert wake_trigger.handler(load_event("wake_trigger_schedule"), LambdaContext())["started"] is True


def test_on_a_learned_day_the_morning_cron_steps_aside_and_the_planned_wake_acts(learned):
    seed_history(10)
    run_plan_job()
    learned.now[0] = at_et(7, 0)
    skipped = wake_trigger.handler(load_event("wake_trigger_schedule"), LambdaContext())
    assert skipped["started"] is False and "learned schedule" in skipped["reason"]
    assert learned.executions() == []
    learned.now[0] = at_et(8, 40)
    woken = wake_trigger.handler(load_event("wake_trigger_planned"), LambdaContext())
    assert woken["started"] is True and len(learned.executions()) == 1


def test_on_a_learned_day_the_nightly_sleep_cron_steps_aside(learned):
    seed_history(10)
    run_plan_job()
    learned.component.desired = learned.component.current = 1
    learned.now[0] = at_et(3, 0)  # 00:00 PT
    result = decide_sleep.handler({"trigger": "schedule", "force": False}, LambdaContext())
    assert result["sleep"] is False and "learned schedule applies" in result["reason"]


def served_requests(minutes_ago: int, now: datetime) -> None:
    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Value": 2,
                "Timestamp": now - timedelta(minutes=minutes_ago),
                "Dimensions": [{"Name": "InferenceComponentName", "Value": IC}],
            }
        ],
    )


def idle_check() -> dict[str, Any]:
    event = load_event("decide_sleep") | {"trigger": "idle"}
    return decide_sleep.handler(event, LambdaContext())


def test_inside_a_planned_window_the_idle_check_waits_twenty_minutes(learned):
    seed_history(10)
    run_plan_job()
    learned.component.desired = learned.component.current = 1
    learned.plane.aws.table.put(IC, StateRecord(state=State.READY), expected_version=0)
    learned.now[0] = at_et(11, 0)
    served_requests(10, learned.now[0])
    result = idle_check()
    assert result["sleep"] is False
    assert result["reason"] == "served 2 request(s) in the last 20 minutes (a planned window)"


def test_outside_the_planned_windows_the_idle_check_naps_after_five_idle_minutes(learned):
    seed_history(10)
    run_plan_job()
    learned.component.desired = learned.component.current = 1
    learned.plane.aws.table.put(IC, StateRecord(state=State.READY), expected_version=0)
    learned.now[0] = at_et(15, 0)  # the afternoon: not a quiet hour of the crons, not a planned window
    served_requests(10, learned.now[0])
    result = idle_check()
    assert result["sleep"] is True and result["reason"] == "idle for 5 minutes (idle)"


def test_in_crons_mode_the_idle_check_keeps_to_the_quiet_hours(stack):
    seed_history(10, before=stack.now[0])
    stack.component.desired = stack.component.current = 1
    stack.plane.aws.table.put(IC, StateRecord(state=State.READY), expected_version=0)
    stack.now[0] = at_et(15, 0)
    result = idle_check()
    assert result["sleep"] is False and "outside quiet hours" in result["reason"]


def test_status_shows_the_next_planned_wake_and_sleep(learned):
    seed_history(10)
    run_plan_job()
    learned.now[0] = at_et(6, 0)
    body = json.loads(wake_api.handler(api_event("wake_api_get_status"), LambdaContext())["body"])
    assert datetime.fromisoformat(body["next_planned_wake"]) == at_et(8, 40)
    assert datetime.fromisoformat(body["next_planned_sleep"]) == at_et(12, 0)
    assert body["schedule"].startswith("learned: learned from 10 days")
    learned.now[0] = at_et(10, 0)  # inside the window: the next wake is tomorrow's, the sleep this one's end
    status = read_status(learned.plane)
    assert (status.next_planned_wake, status.next_planned_sleep) == (at_et(8, 40, day=25), at_et(12, 0))


def test_learned_mode_without_a_fallback_keeps_the_crons_and_says_why(learned):
    """Naps outside the planned windows would fail the users the plan did not expect: no fallback, no plan."""
    settings = learned.plane.settings.model_copy(update={"fallback_endpoint_name": ""})
    learned.plane = ControlPlane(settings, learned.plane.aws)
    runtime.install(learned.plane)

    result = run_plan_job()

    assert result["mode"] == "crons" and result["created"] == []
    assert "needs a fallback endpoint" in read_status(learned.plane).schedule


def test_each_planned_day_is_kept_for_the_report_until_it_expires(learned):
    """The plan item holds today and tomorrow; `sleepwake report` reads older days from items of their own,
    which DynamoDB's TTL deletes some time after `expires_at` (reads leave out an expired one meanwhile)."""
    from sleepwake.adapters.state_table import PLAN_DAY_KEPT_DAYS, plan_day_key

    seed_history(10)
    run_plan_job()
    table = learned.plane.aws.table
    today = PLAN_TIME.astimezone(ET).date()
    days = [today - timedelta(days=1), today, today + timedelta(days=1)]
    kept = table.plan_days(IC, days, PLAN_TIME)
    assert [d.plan.day for d in kept] == days[1:]  # nothing was planned the day before
    assert all(d.applied and d.mode == "learned" for d in kept)
    assert kept[0].plan.spans[0].wake == at_et(8, 40)
    item = boto3.resource("dynamodb").Table(learned.plane.settings.state_table_name)
    stored = item.get_item(Key={"ic": plan_day_key(IC, today)})["Item"]
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)  # the plan's made_at is in UTC
    assert int(stored["expires_at"]) == int((midnight + timedelta(days=PLAN_DAY_KEPT_DAYS)).timestamp())
    later = midnight + timedelta(days=PLAN_DAY_KEPT_DAYS, hours=1)
    assert [d.plan.day for d in table.plan_days(IC, days, later)] == [days[2]]  # today's has expired
