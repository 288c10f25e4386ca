"""EventBridge Scheduler schedules fire at their emulated times (time zones and DST included) and on command."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from localaws.scheduler import GenericCron, Rate, parse_expression
from sleepwake.core.schedule import DailyCron
from tests.localaws.conftest import ROLE, make_function


def _pass_machine(emu, name: str = "wake") -> str:
    return emu.client("stepfunctions").create_state_machine(
        name=name, roleArn=ROLE, definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    )["stateMachineArn"]


def _schedule(emu, name: str, expression: str, tz: str, target_arn: str, payload: dict) -> None:
    emu.client("scheduler").create_schedule(
        Name=name,
        ScheduleExpression=expression,
        ScheduleExpressionTimezone=tz,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": target_arn, "RoleArn": ROLE, "Input": json.dumps(payload)},
    )


def test_daily_cron_in_new_york_fires_at_0700_local_after_dst_started(emu):
    sm = _pass_machine(emu)
    _schedule(emu, "wake", "cron(0 7 * * ? *)", "America/New_York", sm, {"trigger": "schedule"})
    emu.clock.advance_to(datetime(2025, 3, 10, 10, 58, tzinfo=UTC))  # EDT since 9 March: 07:00 = 11:00 UTC
    assert emu.wait_for(lambda: bool(emu.scheduler.firings), timeout=3600, poll=10)
    firing = emu.scheduler.firings[0]
    assert firing.scheduled_for == datetime(2025, 3, 10, 11, 0, tzinfo=UTC)
    sfn = emu.client("stepfunctions")
    assert emu.wait_for(lambda: bool(sfn.list_executions(stateMachineArn=sm)["executions"]), timeout=3600)
    execution = sfn.list_executions(stateMachineArn=sm)["executions"][0]
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == {
        "trigger": "schedule"
    }


def test_a_clock_jump_fires_every_missed_rate_firing_in_order(emu):
    fn = make_function(emu, "idle-check", "fn_probe")
    _schedule(emu, "idle", "rate(5 minutes)", "UTC", fn, {"trigger": "idle"})
    emu.clock.advance(timedelta(minutes=16))
    assert emu.wait_for(lambda: len(emu.lambdas.invocations) >= 3, timeout=3600, poll=1)
    times = [f.scheduled_for for f in emu.scheduler.firings]
    assert len(times) == 3 and times == sorted(times)
    assert emu.lambdas.invocations[0].event == {"trigger": "idle"}


def test_on_a_jumping_clock_an_idle_hour_is_a_jump_a_minute_and_a_schedule_made_meanwhile_fires(emu):
    """The scheduler looks for new schedules at each whole minute (with the alarm rounds), not every few
    seconds: an idle emulator's clock jumps about once a minute, and a one-time schedule created while the
    scheduler waits still fires, at most a minute late."""
    sm = _pass_machine(emu)
    clock = emu.clock
    clock.set_speed(60)  # the replay's speed: a running clock's slices would be 12 emulated seconds
    clock.jump_when_idle(True)
    try:
        with clock.held():
            clock.sleep(120)  # the deploy-time slices are over
            before, start = clock.jumps, clock.now()
            clock.sleep(3600)
            jumps = clock.jumps - before
            elapsed = (clock.now() - start).total_seconds()
            due = (clock.now() + timedelta(minutes=10)).replace(microsecond=0)
            _schedule(emu, "later", f"at({due:%Y-%m-%dT%H:%M:%S})", "UTC", sm, {"trigger": "plan"})
            clock.sleep(900)
    finally:
        clock.jump_when_idle(False)
    # Alarm rounds and the scheduler's looks share the minute boundaries; the time between jumps runs at 60x.
    assert jumps <= elapsed / 60 + 5
    firing = next(f for f in emu.scheduler.firings if f.name == "later")
    assert firing.scheduled_for == due.astimezone(UTC)
    assert timedelta(0) <= firing.fired_at - firing.scheduled_for <= timedelta(seconds=61)


def test_disabled_schedules_do_not_fire_and_fire_now_does(emu):
    sm = _pass_machine(emu)
    _schedule(emu, "sleep", "cron(0 0 * * ? *)", "America/Los_Angeles", sm, {"trigger": "manual"})
    emu.client("scheduler").update_schedule(
        Name="sleep",
        ScheduleExpression="cron(0 0 * * ? *)",
        ScheduleExpressionTimezone="America/Los_Angeles",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": sm, "RoleArn": ROLE, "Input": "{}"},
        State="DISABLED",
    )
    emu.clock.advance(timedelta(days=1))
    emu.scheduler.tick()
    assert emu.scheduler.firings == []
    emu.scheduler.fire_now("sleep")
    assert len(emu.scheduler.firings) == 1


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (datetime(2025, 3, 10, 6, 1, tzinfo=UTC), datetime(2025, 3, 10, 6, 15, tzinfo=UTC)),
        (datetime(2025, 3, 10, 6, 45, tzinfo=UTC), datetime(2025, 3, 10, 7, 0, tzinfo=UTC)),
    ],
)
def test_every_15_minutes_cron(after, expected):
    assert GenericCron.parse("cron(0/15 * * * ? *)", "UTC").next(after) == expected


def test_weekday_cron_and_expression_kinds():
    cron = GenericCron.parse("cron(30 8 ? * MON-FRI *)", "Europe/London")
    saturday = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
    assert cron.next(saturday) == datetime(2025, 3, 17, 8, 30, tzinfo=UTC)
    anchor = datetime(2025, 1, 1, tzinfo=UTC)
    assert isinstance(parse_expression("cron(0 7 * * ? *)", "America/New_York", anchor), DailyCron)
    assert isinstance(parse_expression("cron(0/15 * * * ? *)", "UTC", anchor), GenericCron)
    assert parse_expression("rate(1 hour)", "UTC", anchor) == Rate(timedelta(hours=1), anchor)
    assert parse_expression("at(2025-01-02T03:04:05)", "UTC", anchor).next(anchor) == datetime(
        2025, 1, 2, 3, 4, 5, tzinfo=UTC
    )


def test_a_clock_that_jumps_when_idle_fires_each_schedule_at_its_time_even_one_created_while_it_waits(emu):
    """The scheduler's next deadline is its next firing, and creating a schedule wakes it up: the clock never
    jumps past a firing (localaws/clock.py, jump_when_idle)."""
    sm = _pass_machine(emu)
    emu.clock.set_speed(1)  # between jumps, time runs as slowly as the wall clock
    emu.clock.jump_when_idle()
    with emu.clock.held():  # this thread drives
        start = emu.clock.now().replace(microsecond=0)
        late, early = start + timedelta(hours=3), start + timedelta(hours=1)
        _schedule(emu, "late", f"at({late:%Y-%m-%dT%H:%M:%S})", "UTC", sm, {"trigger": "late"})
        emu.clock.sleep(1)  # the scheduler now waits for the late one
        _schedule(emu, "early", f"at({early:%Y-%m-%dT%H:%M:%S})", "UTC", sm, {"trigger": "early"})
        emu.clock.wait_until(start + timedelta(hours=4))
    fired = {f.name: f for f in emu.scheduler.firings}
    assert set(fired) == {"early", "late"}
    for name, due in (("early", early), ("late", late)):
        assert fired[name].scheduled_for == due
        assert due <= fired[name].fired_at < due + timedelta(seconds=30), fired[name]
    assert emu.clock.jumped > timedelta(hours=3)
