"""What the learned schedule needs from the emulator: GetMetricData over weeks of history at Period 300 with Sum,
and one-time `at()` schedules in a time zone that delete themselves after firing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from localaws import cloudwatch
from tests.localaws.conftest import ROLE, START, make_function

DIMS = [{"Name": "InferenceComponentName", "Value": "ic"}]


def history_query(emu, start: datetime, end: datetime, dims=DIMS) -> dict:
    return emu.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            {
                "Id": "component",
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/SageMaker", "MetricName": "Invocations", "Dimensions": dims},
                    "Period": 300,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=start,
        EndTime=end,
        ScanBy="TimestampAscending",
    )["MetricDataResults"][0]


def test_get_metric_data_sums_weeks_of_seeded_invocations_per_five_minute_clock_interval(emu):
    now = emu.clock.now()
    base = (now - timedelta(days=20)).replace(minute=0, second=0, microsecond=0)
    for k in range(3):  # three requests in one 5-minute slot, two in the next hour's first
        cloudwatch.record(
            emu.account, emu.region, "AWS/SageMaker", "Invocations", 1.0, DIMS, "Count", base + timedelta(minutes=1 + k)
        )
    for k in range(2):
        cloudwatch.record(
            emu.account,
            emu.region,
            "AWS/SageMaker",
            "Invocations",
            1.0,
            DIMS,
            "Count",
            base + timedelta(hours=1, seconds=10 * k),
        )
    # A datum of another component, and one of the same name in another namespace, are not this metric.
    other = [{"Name": "InferenceComponentName", "Value": "other"}]
    cloudwatch.record(emu.account, emu.region, "AWS/SageMaker", "Invocations", 7.0, other, "Count", base)
    cloudwatch.record(emu.account, emu.region, "Custom", "Invocations", 7.0, DIMS, "Count", base)
    # StartTime 28 days back and off the clock interval: rounded down to 5 minutes (API reference, StartTime).
    result = history_query(emu, now - timedelta(days=28, seconds=97), now)
    points = dict(zip([t.astimezone(UTC) for t in result["Timestamps"]], result["Values"], strict=True))
    assert points == {base.astimezone(UTC): 3.0, (base + timedelta(hours=1)).astimezone(UTC): 2.0}


def test_a_one_time_schedule_fires_at_its_local_time_once_and_deletes_itself(emu):
    fn = make_function(emu, "wake-trigger", "fn_probe")
    scheduler = emu.client("scheduler")
    scheduler.create_schedule_group(Name="planned")
    # START is 06:00 UTC = 02:00 EDT on 10 March 2025; 02:20 EDT = 06:20 UTC.
    for name, action in (("deletes", "DELETE"), ("stays", "NONE")):
        scheduler.create_schedule(
            Name=name,
            GroupName="planned",
            ScheduleExpression="at(2025-03-10T02:20:00)",
            ScheduleExpressionTimezone="America/New_York",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion=action,
            Target={"Arn": fn, "RoleArn": ROLE, "Input": json.dumps({"source": "planned", "reason": name})},
        )
    emu.clock.advance_to(START + timedelta(minutes=19, seconds=50))
    assert emu.wait_for(lambda: len(emu.scheduler.firings) >= 2, timeout=600, poll=1)
    assert {f.scheduled_for for f in emu.scheduler.firings} == {START + timedelta(minutes=20)}
    names = [s["Name"] for s in scheduler.list_schedules(GroupName="planned")["Schedules"]]
    assert names == ["stays"]
    with emu.clock.jumping():  # two more hours, every minute's look of the scheduler at its time
        emu.clock.sleep(2 * 3600)
    assert len(emu.scheduler.firings) == 2 and {i.event["reason"] for i in emu.lambdas.invocations} == {
        "deletes",
        "stays",
    }
