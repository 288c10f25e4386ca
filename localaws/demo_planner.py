"""`make demo-planner`: the learned schedule on the local stack, checked phase by phase.

Two weeks of office-hours traffic (Monday to Friday, 09:00-17:00 ET) are written into the emulator's CloudWatch
with past timestamps, as the runtime writes each request's `Invocations` datum. Then, on Wednesday 25 Nov 2026
in emulated time: the daily plan job at 00:05 ET learns the day and creates a one-time wake schedule -> the idle
check naps the component outside the planned window -> the 07:00 ET morning cron steps aside -> the planned
wake fires one lead ahead of the window, the copy is ready before the first user at 09:00 and the schedule is
gone (ActionAfterCompletion DELETE) -> the idle check inside the window waits 20 minutes instead of napping.
Prints a timeline, exits non-zero if a phase misbehaves and ends with a JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from localaws import cloudwatch
from localaws.activity import is_idle_check
from localaws.demo import ET, OUT, Timeline, _t, phase, run_logged, skip_to
from localaws.local_stack import LocalStack

# Tuesday 24 Nov 2026, 23:50 ET: 15 minutes before the daily plan job.
START = datetime(2026, 11, 24, 23, 50, tzinfo=ET).astimezone(UTC)
DAY = datetime(2026, 11, 25, tzinfo=ET)
FIRST_USER = datetime(2026, 11, 25, 9, 0, tzinfo=ET).astimezone(UTC)
ACTIVE_SPEED = 20.0  # emulated seconds per wall second while things happen; idle stretches jump (demo.skip_to)
HISTORY_DAYS = 14


def office_hours(days: int, before: datetime) -> Iterator[datetime]:
    """Two requests in every 5-minute slot from 09:00 to 17:00 ET on each weekday of the `days` before `before`."""
    first = before.astimezone(ET).date()
    for back in range(1, days + 1):
        day = first - timedelta(days=back)
        if day.weekday() >= 5:
            continue
        at = datetime(day.year, day.month, day.day, 9, 0, tzinfo=ET)
        while at.hour < 17:
            yield at + timedelta(seconds=40)
            yield at + timedelta(seconds=190)
            at += timedelta(minutes=5)


def seed_history(local: LocalStack, requests: Iterator[datetime]) -> int:
    """One `Invocations` datum per past request, dimensioned as the emulated runtime records it."""
    dims = [{"Name": "InferenceComponentName", "Value": local.outputs["InferenceComponentName"]}]
    count = 0
    for at in requests:
        cloudwatch.record(local.emu.account, local.emu.region, "AWS/SageMaker", "Invocations", 1.0, dims, "Count", at)
        count += 1
    return count


class DemoDay:
    def __init__(self, local: LocalStack, timeline: Timeline) -> None:
        self.local = local
        self.tl = timeline
        self.figures: dict[str, Any] = {}

    def phase(self, name: str, check: bool, detail: str) -> None:
        phase(self.tl, name, check, detail)

    def planned_wakes(self) -> list[dict[str, Any]]:
        scheduler = self.local.emu.client("scheduler")
        group = self.local.outputs["PlannedWakeGroupName"]
        names = [s["Name"] for s in scheduler.list_schedules(GroupName=group)["Schedules"]]
        return [scheduler.get_schedule(Name=n, GroupName=group) for n in sorted(names)]

    def sleep_decisions(self, since: datetime) -> list[tuple[datetime, str]]:
        """(time, decision reason) of every idle check since `since` that skipped (the idle-check function's
        answer; it starts no execution) and of every sleep execution started since then that has finished."""
        sfn = self.local.emu.client("stepfunctions")
        out = [
            (r.at, str(r.result.get("reason", "")))
            for r in list(self.local.emu.lambdas.invocations)
            if r.at >= since
            and is_idle_check(r.event)
            and isinstance(r.result, dict)
            and r.result.get("sleep") is False
        ]
        for execution in self.local.executions("Sleep"):
            started = execution["startDate"].astimezone(UTC)
            if started < since or execution["status"] == "RUNNING":
                continue
            output = json.loads(sfn.describe_execution(executionArn=execution["executionArn"]).get("output") or "{}")
            out.append((started, str(output.get("decision", {}).get("reason", ""))))
        return sorted(out)

    def run(self) -> None:
        local, clock = self.local, self.local.clock
        with clock.paused():
            seeded = seed_history(local, office_hours(HISTORY_DAYS, START))
        self.figures["history_requests"] = seeded
        self.phase(
            "two weeks of history",
            seeded > 0,
            f"{seeded} past requests written to CloudWatch (weekdays 09:00-17:00 ET, {HISTORY_DAYS} days)",
        )

        # 1. The daily plan job at 00:05 ET learns today and schedules its wake.
        with clock.jumping():
            local.emu.wait_for(lambda: bool(local.status().get("next_planned_wake")), timeout=3600, poll=30)
        status = local.status()
        wakes = self.planned_wakes()
        expressions = [w["ScheduleExpression"] for w in wakes]
        self.tl.say(local.now(), "plan", f"{status['schedule']}; one-time wakes {expressions}")
        self.figures["planned_wakes"] = expressions
        self.phase(
            "00:05 ET plan job",
            bool(expressions)
            and "at(2026-11-25T08:30:00)" <= expressions[0] < "at(2026-11-25T09:00:00)"
            and all(w["ActionAfterCompletion"] == "DELETE" for w in wakes),
            f"next planned wake {status['next_planned_wake']}, sleep {status['next_planned_sleep']}; "
            f"{len(wakes)} one-time schedule(s) in {local.outputs['PlannedWakeGroupName']}",
        )

        # 2. Outside the window the idle check naps the component (5 idle minutes, checks every 15).
        with clock.jumping():
            asleep = local.wait_for_state("asleep", timeout=3600, poll=30)
        napped = datetime.fromisoformat(asleep["since"])
        self.tl.say(napped, "state", "asleep: napped outside the planned window")
        self.phase("nap outside the window", asleep["current_copies"] == 0, f"asleep at {_t(napped)}")

        # 3. The 07:00 ET morning cron steps aside on a learned day.
        wakes_before = len(local.executions("Wake"))
        skip_to(clock, datetime(2026, 11, 25, 7, 5, tzinfo=ET))
        with clock.paused():
            state = local.status()["state"]
            woke = len(local.executions("Wake")) - wakes_before
        self.phase("07:00 ET cron steps aside", state == "asleep" and woke == 0, f"still {state} at 07:05 ET")

        # 4. The planned wake fires one lead before the window; ready before the first user.
        planned = datetime.fromisoformat(status["next_planned_wake"])
        skip_to(clock, planned - timedelta(seconds=30))
        self.tl.say(local.now(), "clock", "30 s before the planned wake")
        ready = local.wait_for_state("ready", timeout=20 * 60, poll=1.0)
        ready_at = datetime.fromisoformat(ready["since"])
        with clock.paused():
            left = [w["ScheduleExpression"] for w in self.planned_wakes()]
        self.figures["planned_ready_et"] = f"{ready_at.astimezone(ET):%H:%M:%S}"
        self.figures["lead_over_first_user_s"] = round((FIRST_USER - ready_at).total_seconds())
        self.phase(
            "planned pre-wake",
            ready_at < FIRST_USER and expressions[0] not in left,
            f"ready at {ready_at.astimezone(ET):%H:%M:%S} ET, {self.figures['lead_over_first_user_s']} s before the "
            f"first user; the fired schedule deleted itself (left: {left})",
        )

        # 5. The first users of the window are served warm.
        skip_to(clock, FIRST_USER)
        first = local.invoke()
        skip_to(clock, local.now() + timedelta(minutes=10))
        second = local.invoke()
        self.tl.request(
            first.at,
            "component" if first.ok else "failed",
            f"first user: {'ok' if first.ok else first.error} {first.latency_ms:.0f} ms",
        )
        self.tl.served.append((second.at, "component" if second.ok else "failed"))
        self.phase(
            "first user served", first.ok and second.ok, f"{first.latency_ms:.0f} ms, then {second.latency_ms:.0f} ms"
        )

        # 6. The idle check at 09:15 ET: inside the window it counts 20 minutes, so it does not nap.
        checked_from = local.now()
        with clock.jumping():
            local.emu.wait_for(lambda: bool(self.sleep_decisions(checked_from)), timeout=1800, poll=10)
        with clock.paused():
            at, reason = self.sleep_decisions(checked_from)[0]
            state = local.status()["state"]
        self.tl.say(at, "idle", reason)
        self.phase(
            "idle check inside the window",
            "(a planned window)" in reason and state == "ready",
            f"{reason}; still {state}",
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make demo-planner", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--log", default=str(OUT / "planner-lambda.log"), help="where the functions' JSON logs go")
    args = parser.parse_args(argv)
    timeline = Timeline(sys.stdout)

    def play(summary: dict[str, Any]) -> None:
        with LocalStack(start=START, speed=ACTIVE_SPEED, port=0, api_port=0, deployment_file=None) as local:
            day = DemoDay(local, timeline)
            try:
                day.run()
            finally:
                summary |= day.figures

    summary = run_logged("sleepwake demo-planner: a learned day on the local stack", args.log, timeline, play)
    print(json.dumps(summary), flush=True)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
