"""`sleepwake plan`: the learned week from the component's own request history, as a table and a heatmap.

It reads 5-minute `Invocations` (the component's and the fallback endpoint's) over the last `--days` from
CloudWatch, plans the next seven days with `sleepwake.core.plan_week` (the same function the control plane
and the simulator use) and prints one row per day: the pre-wake and end of each window, the awake hours and
why. `--out` gets `plan.png`: weekday x hour, the traffic seen (mean requests per hour) with the planned awake
hours outlined.

`--apply` runs the deployment's plan job now (the PlanDayFunction the daily schedule runs at 00:05 in the wake
zone): it stores today's and tomorrow's plan and, in ScheduleMode learned, creates their one-time wakes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sleepwake.control.plan import request_history
from sleepwake.core import DayPlan, PlannerSettings, QuietHours, plan_week
from sleepwake_cli.command import PLAN_EXIT_CODES, Operator, Refused, guard, subcommand
from sleepwake_cli.outputs import out_folder

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _windows(plan: DayPlan, crons: QuietHours | None) -> tuple[list[tuple[datetime, datetime]], float]:
    """A day's awake stretches and hours: the learned windows, or on a day the planner left to the crons, the
    hours the crons keep it awake (none known without `crons`)."""
    if plan.learned or crons is None:
        return plan.spans(), plan.awake_minutes / 60
    spans = crons.awake_spans(plan.day, plan.tz)
    return spans, sum((b - a).total_seconds() for a, b in spans) / 3600


def week_table(plans: Sequence[DayPlan], crons: QuietHours | None = None) -> str:
    """One line per day: windows as pre-wake -> end (local time of the plan's zone), awake hours, the reason.
    A day without enough history shows the hours the configured crons keep the component awake."""
    lines = [f"{'day':<15} {'awake':>6}  windows (wake -> sleep, {plans[0].tz if plans else ''})"]
    for plan in plans:
        spans, hours = _windows(plan, crons)
        shown = ", ".join(f"{a:%H:%M} -> {b:%H:%M}" for a, b in spans) or "asleep all day"
        if not plan.learned:
            shown = (
                f"{shown} (configured schedules: {plan.reason})" if crons else f"configured schedules ({plan.reason})"
            )
        lines.append(f"{plan.day:%a %Y-%m-%d} {hours:>5.1f}h  {shown}")
    learned = [p for p in plans if p.learned]
    if learned:
        lines.append(f"planner: {learned[0].reason.split(':')[0]}")
    return "\n".join(lines)


def week_json(plans: Sequence[DayPlan], crons: QuietHours | None = None) -> list[dict[str, Any]]:
    out = []
    for plan in plans:
        spans, hours = _windows(plan, crons)
        out.append(
            {
                "day": plan.day.isoformat(),
                "learned": plan.learned,
                "reason": plan.reason,
                "windows": [{"wake": a.isoformat(), "sleep": b.isoformat()} for a, b in spans],
                "awake_hours": round(hours, 2),
            }
        )
    return out


def traffic_by_weekday_hour(history: Sequence[tuple[datetime, float]], tz: str) -> list[list[float]]:
    """Mean requests per hour for each weekday (rows Mon..Sun) and local hour over the days in the history."""
    zone = ZoneInfo(tz)
    sums = [[0.0] * 24 for _ in range(7)]
    days: list[set[date]] = [set() for _ in range(7)]
    for at, count in history:
        local = at.astimezone(zone)
        sums[local.weekday()][local.hour] += count
        days[local.weekday()].add(local.date())
    return [[value / max(1, len(days[wd])) for value in sums[wd]] for wd in range(7)]


def planned_by_weekday_hour(plans: Sequence[DayPlan]) -> list[list[float]]:
    """Share of each local hour that the plan keeps awake, per weekday."""
    grid = [[0.0] * 24 for _ in range(7)]
    for plan in plans:
        for window in plan.windows:
            for slot in range(window.start_slot, window.end_slot):
                hour = (slot * 5) // 60
                if hour < 24:
                    grid[plan.day.weekday()][hour] += 5 / 60
    return grid


def heatmap(path: Path, history: Sequence[tuple[datetime, float]], plans: Sequence[DayPlan], tz: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    traffic = traffic_by_weekday_hour(history, tz)
    planned = planned_by_weekday_hour(plans)
    fig, ax = plt.subplots(figsize=(12, 4.2))
    image = ax.imshow(traffic, aspect="auto", cmap="Blues", origin="upper")
    for wd in range(7):
        for hour in range(24):
            if planned[wd][hour] > 0:
                ax.add_patch(
                    Rectangle(
                        (hour - 0.5, wd - 0.5), 1, 1, fill=False, edgecolor="#d95f02", lw=1.2 + 1.3 * planned[wd][hour]
                    )
                )
    ax.set_yticks(range(7), WEEKDAYS)
    ax.set_xticks(range(24), [f"{h:02d}" for h in range(24)])
    ax.set_xlabel(f"hour ({tz})")
    ax.set_title("requests per hour seen (blue) and hours the plan keeps awake (orange outline)", fontsize=10)
    fig.colorbar(image, ax=ax, label="mean requests per hour")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plan_from_history(
    history: Sequence[tuple[datetime, float]], now: datetime, tz: str, settings: PlannerSettings | None = None
) -> list[DayPlan]:
    """The next seven local days from `now`, today first."""
    return plan_week(history, now.astimezone(ZoneInfo(tz)).date(), tz, settings)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subcommand(
        subparsers,
        "plan",
        "the learned week: when the component will be woken and put to sleep (table + heatmap)",
        "Learn from the last --days of 5-minute Invocations (CloudWatch; the component's and the fallback's) "
        "and print the next seven days as the control plane plans them: each window's wake and sleep time in the "
        "wake zone, awake hours, why. Writes a weekday x hour heatmap (traffic seen, planned awake) to "
        "--out/plan.png. --apply runs the deployment's plan job now.",
        PLAN_EXIT_CODES,
    )
    p.add_argument("--days", type=_days, default=28, help="days of history to learn from, 7-28 (default 28)")
    p.add_argument(
        "--out", type=out_folder, default=Path("build/plan"), help="folder for plan.png (default build/plan)"
    )
    p.add_argument("--no-chart", action="store_true", help="skip the heatmap")
    p.add_argument(
        "--apply",
        action="store_true",
        help="run the deployment's plan job now: store today's and tomorrow's plan and schedule the planned wakes",
    )
    p.set_defaults(func=guard(cmd_plan))


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 7 <= value <= 28:
        raise argparse.ArgumentTypeError(f"{value} is outside 7-28 (the planner learns from 7 to 28 days)")
    return value


def cmd_plan(op: Operator) -> int:
    args, plane = op.args, op.plane
    now = op.clock.now()
    tz = plane.settings.wake_timezone
    history = request_history(plane, days=args.days, now=now)
    plans = plan_from_history(history, now, tz, plane.settings.planner_settings())
    chart = args.out / "plan.png"
    if not args.no_chart:  # before --apply: a chart that cannot be written ends the command with nothing run
        try:
            heatmap(chart, history, plans, tz)
        except OSError as error:
            ran = "; the plan job was not run" if args.apply else ""
            raise Refused(f"could not write the heatmap to {chart}: {error.strerror or error}{ran}") from error
    applied = _apply(op.deployment.client("lambda"), op.deployment.physical("PlanDayFunction")) if args.apply else None
    if applied is not None and "errorMessage" in applied:
        op.answer(
            {"outcome": "failed", "error": applied["errorMessage"]},
            f"sleepwake plan: the plan job failed: {applied['errorMessage']}",
        )
        return 1
    settings = plane.settings
    crons = QuietHours.parse(settings.sleep_cron, settings.sleep_timezone, settings.wake_cron, settings.wake_timezone)
    data: dict[str, Any] = {
        # What the control plane will do with it: a learned plan applies only in learned mode with a fallback.
        "outcome": "planned"
        if plane.settings.applied_schedule_mode == "learned" and any(p.learned for p in plans)
        else "crons",
        "schedule_mode": plane.settings.applied_schedule_mode,
        "tz": tz,
        "history_points": len(history),
        "days": week_json(plans, crons),
        "chart": None if args.no_chart else str(chart),
    }
    text = week_table(plans, crons) + ("" if args.no_chart else f"\nwrote {chart}")
    if plane.settings.applied_schedule_mode != "learned":
        text += "\nnot applied: the crons govern (ScheduleMode crons, or no fallback endpoint for the naps it needs)"
    if applied is not None:
        data["applied"] = applied
        text += "\n" + _applied_line(applied)
    op.answer(data, text)
    return 0


def _apply(lambda_client: Any, function_name: str) -> dict[str, Any]:
    """Invoke the plan job synchronously and return its answer (or Lambda's error document)."""
    answer = lambda_client.invoke(FunctionName=function_name, Payload=b"{}")
    return dict(json.loads(answer["Payload"].read() or b"{}"))


def _applied_line(applied: dict[str, Any]) -> str:
    created, deleted = applied.get("created", []), applied.get("deleted", [])
    days = ", ".join(f"{d['day']} {'learned' if d['learned'] else 'crons'}" for d in applied.get("days", []))
    return (
        f"plan job ({applied.get('mode')} mode): stored {days}; {len(created)} planned wake(s) scheduled"
        + (f" ({', '.join(created)})" if created else "")
        + (f", {len(deleted)} left-over wake(s) deleted" if deleted else "")
    )
