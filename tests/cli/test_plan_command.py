"""`sleepwake plan`: the week table and heatmap from a request history, and the CloudWatch history it reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import pytest
from moto import mock_aws

from sleepwake.adapters.cloudwatch import ComponentMetrics
from sleepwake.core import QuietHours
from sleepwake_cli.plan import heatmap, plan_from_history, traffic_by_weekday_hour, week_json, week_table

NY = ZoneInfo("America/New_York")
NOW = datetime(2025, 5, 5, 6, 0, tzinfo=NY)  # a Monday morning


def workday_history(days: int = 21) -> list[tuple[datetime, float]]:
    out = []
    for k in range(1, days + 1):
        day = NOW.date() - timedelta(days=k)
        if day.weekday() >= 5:
            continue
        at = datetime.combine(day, time(9), tzinfo=NY)
        while at.time() < time(17):
            out.append((at.astimezone(UTC), 3.0))
            at += timedelta(minutes=5)
    return out


def test_the_week_table_shows_each_days_wake_and_sleep() -> None:
    plans = plan_from_history(workday_history(), NOW, "America/New_York")
    text = week_table(plans)

    assert text.splitlines()[1].startswith("Mon 2025-05-05")
    assert "08:" in text.splitlines()[1] and "-> 17:" in text.splitlines()[1]
    assert "Sat 2025-05-10   0.0h  asleep all day" in text
    assert week_json(plans)[0]["windows"][0]["wake"].startswith("2025-05-05T08:")


def test_with_little_history_the_table_says_the_configured_schedules_apply() -> None:
    plans = plan_from_history(workday_history(days=3), NOW, "America/New_York")

    assert "configured schedules" in week_table(plans)
    assert all(not p.learned for p in plans)


def test_with_little_history_each_day_shows_the_hours_the_crons_keep_it_awake() -> None:
    """The template's defaults: sleep at 00:00 Los Angeles (03:00 New York), wake at 07:00 New York."""
    crons = QuietHours.parse("cron(0 0 * * ? *)", "America/Los_Angeles", "cron(0 7 * * ? *)", "America/New_York")
    plans = plan_from_history(workday_history(days=3), NOW, "America/New_York")
    lines = week_table(plans, crons).splitlines()[1:]

    assert len(lines) == 7
    assert lines[0].startswith("Mon 2025-05-05  20.0h  00:00 -> 03:00, 07:00 -> 00:00 (configured schedules: ")
    assert all(" 20.0h  00:00 -> 03:00, 07:00 -> 00:00 " in line for line in lines)
    first = week_json(plans, crons)[0]
    assert first["awake_hours"] == 20.0 and not first["learned"]
    assert first["windows"][1] == {"wake": "2025-05-05T07:00:00-04:00", "sleep": "2025-05-06T00:00:00-04:00"}


def test_the_heatmap_is_written_with_traffic_by_weekday_and_hour(tmp_path: Path) -> None:
    history = workday_history()
    grid = traffic_by_weekday_hour(history, "America/New_York")
    heatmap(tmp_path / "plan.png", history, plan_from_history(history, NOW, "America/New_York"), "America/New_York")

    assert grid[0][10] == pytest.approx(12 * 3.0)  # Monday 10:00-11:00: 12 slots of 3 requests
    assert grid[5][10] == 0
    assert (tmp_path / "plan.png").stat().st_size > 10_000


@mock_aws
def test_the_history_adds_the_fallbacks_requests_to_the_components_per_5_minutes() -> None:
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    start = datetime(2025, 5, 1, 14, 0, tzinfo=UTC)
    for minute, (ic, fb) in enumerate([(2, 0), (1, 1), (0, 3)]):
        at = start + timedelta(minutes=5 * minute)
        cw.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "InferenceComponentName", "Value": "sleepwake-ic"}],
                    "Timestamp": at,
                    "Value": ic,
                },
                {
                    "MetricName": "Invocations",
                    "Dimensions": [
                        {"Name": "EndpointName", "Value": "sleepwake-fallback"},
                        {"Name": "VariantName", "Value": "AllTraffic"},
                    ],
                    "Timestamp": at,
                    "Value": fb,
                },
            ],
        )

    history = ComponentMetrics(cw).invocation_history(
        "sleepwake-ic",
        start - timedelta(minutes=5),
        start + timedelta(minutes=30),
        fallback_endpoint="sleepwake-fallback",
    )

    assert [v for _, v in history] == [2.0, 2.0, 3.0]
    assert [at.astimezone(UTC).minute for at, _ in history] == [0, 5, 10]
    assert date(2025, 5, 1) == history[0][0].date()


@pytest.mark.parametrize("under", ["", "sub"])
def test_plan_apply_with_an_out_that_is_a_file_answers_one_line_exit_2_and_runs_nothing(
    under, tmp_path, capsys, monkeypatch
):
    """`--out` names a file (or a folder under one): refused by argparse before the deployment is read, so
    `--apply` never runs the plan job."""
    import sleepwake_cli.command as command
    from sleepwake_cli.main import main

    monkeypatch.setattr(command, "_operator", lambda args: pytest.fail("read the deployment before checking --out"))
    blocker = tmp_path / "plan.png"
    blocker.write_text("")
    with pytest.raises(SystemExit) as stopped:
        main(["plan", "--apply", "--out", str(blocker / under)])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument --out: " in err and "Traceback" not in err


def test_a_heatmap_that_cannot_be_written_is_one_line_and_the_plan_job_is_not_run(tmp_path, monkeypatch):
    """Written after --out was checked (the folder went away, the disk filled): a one-line Refused (exit 2 from
    the command's guard) before --apply invokes anything."""
    import argparse
    from types import SimpleNamespace

    import sleepwake_cli.plan as plan
    from sleepwake.settings import Settings
    from sleepwake_cli.command import Refused

    monkeypatch.setattr(plan, "request_history", lambda *a, **k: workday_history())
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = Settings.model_validate(
        {"IC_NAME": "ic", "ENDPOINT_NAME": "ep", "STATE_TABLE_NAME": "t", "WAKE_TIMEZONE": "America/New_York"}
    )
    lambda_client = SimpleNamespace(invoke=lambda **k: pytest.fail("ran the plan job before writing the heatmap"))
    op = SimpleNamespace(
        args=argparse.Namespace(days=21, out=blocker / "plan", no_chart=False, apply=True, json=False),
        plane=SimpleNamespace(settings=settings),
        clock=SimpleNamespace(now=lambda: NOW),
        deployment=SimpleNamespace(client=lambda name: lambda_client, physical=lambda name: "plan-day"),
    )
    with pytest.raises(Refused, match=r"could not write the heatmap to .*plan\.png: .*; the plan job was not run"):
        plan.cmd_plan(op)
