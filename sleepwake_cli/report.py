"""`sleepwake report`: what the deployed stack did over the last --since (7 days by default), read with the
operator's credentials from Step Functions, CloudWatch and the state table, and turned into figures by
sleepwake.core.report (its docstring says what each figure means). A table on a terminal, one JSON document
with --json, and with --png FILE a chart of the window (sleepwake_cli.report_chart). Works on AWS and on the
local stack (there the window ends at the emulated now).
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sleepwake import clock
from sleepwake.adapters.report_sources import ReportSources
from sleepwake.core import State, defaults
from sleepwake.core.report import Execution, Prices, Report, aligned_start, build_report
from sleepwake.core.report_waits import latency_note, partly_timed
from sleepwake.core.timestamps import iso
from sleepwake_cli.command import OK, REPORT_EXIT_CODES, Operator, Refused, bounded, guard, subcommand

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
WARMUP_MARGIN = timedelta(minutes=15)  # the warm-up step after a wake's copy count is reached, generously
MAX_SINCE = timedelta(days=90)  # Step Functions keeps closed executions 90 days


def duration(text: str) -> timedelta:
    """An argparse type: `90m`, `12h`, `7d`, `2w`, at most 90 days."""
    found = _DURATION.fullmatch(text.strip())
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90m, 12h, 7d or 2w")
    value = timedelta(**{_UNITS[found.group(2)]: float(found.group(1))})
    if not timedelta(minutes=1) <= value <= MAX_SINCE:
        raise argparse.ArgumentTypeError(f"{text} is outside 1m-90d (Step Functions keeps executions 90 days)")
    return value


def png_file(text: str) -> Path:
    """An argparse type for --png: a .png file in a folder that exists, checked before anything is read."""
    path = Path(text)
    if path.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"{text!r} does not end in .png (the chart is a PNG)")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"the folder {str(path.parent)!r} does not exist (create it first)")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    return path


def collect(op: Operator, start: datetime, end: datetime, prices: Prices, slow_seconds: float) -> Report:
    """Read the window [start, end] from the deployment and compute its figures (`make demo` calls this too);
    the start moves up to the whole minute (or 5 minutes, or hour, by its age) CloudWatch would round it to."""
    settings = op.plane.settings
    start = aligned_start(start, end)
    sources = ReportSources(op.deployment.client("stepfunctions"), op.deployment.client("cloudwatch"))
    runs: list[Execution] = []
    lookback = timedelta(seconds=settings.wake_timeout_seconds) + WARMUP_MARGIN
    for kind, arn in (("wake", settings.wake_state_machine_arn), ("sleep", settings.sleep_state_machine_arn)):
        if arn:
            runs += sources.executions(kind, arn, start, end, lookback=lookback)  # type: ignore[arg-type]
    fallback_endpoint = settings.fallback_endpoint_name if settings.has_fallback else None
    component = sources.path("component", settings.ic_name, start, end, slow_seconds)
    fallback = sources.path("fallback", fallback_endpoint, start, end, slow_seconds) if fallback_endpoint else None
    slots = sources.slots(settings.ic_name, fallback_endpoint, start, end, end)
    state = op.plane.aws.table
    awake_now = state.get(settings.ic_name).state != State.ASLEEP
    # The plan job's local days that may reach into the window (a window, or a planned window, may span midnight).
    first = start.astimezone(ZoneInfo(settings.wake_timezone)).date() - timedelta(days=1)
    days = [first + timedelta(days=i) for i in range((end.date() - first).days + 2)]
    plan_days = state.plan_days(settings.ic_name, days, end)
    return build_report(
        runs,
        component,
        fallback,
        start=start,
        end=end,
        awake_now=awake_now,
        prices=prices,
        estimate_seconds=settings.provisioning_estimate_seconds,
        slots=slots,
        plan_days=plan_days,
        wait_stats=sources.waits(settings.ic_name, start, end),
        answer_stats=sources.answers(settings.ic_name, start, end, slow_seconds),
    )


def table(report: Report, price: float, slow_seconds: float) -> str:
    """The report as a terminal table."""
    r = report
    lines = [
        f"sleepwake report {_to_the_second(r.start)} .. {_to_the_second(r.end)} ({r.hours:g} h)",
        "",
        f"  awake / asleep           {r.awake_hours:.2f} h / {r.asleep_hours:.2f} h",
        f"  instance hours           {r.instance_hours:.2f} h at ${price:g}/h",
        f"  cost                     ${r.instance_cost + r.fallback_cost:.2f} (instance ${r.instance_cost:.2f}, "
        f"fallback ${r.fallback_cost:.4f}); always on ${r.always_on_cost:.2f}",
        f"  saving vs always-on      {_usd(r.saving)} ({r.saving_vs_always_on_pct:g} %)",
        "",
        "  requests                 component {served_by_component}, fallback {served_by_fallback}, "
        "failed {failed} (no capacity {no_capacity}, of which unanswered {unanswered_no_capacity}; fallback cold "
        "starts {fallback_cold_starts}); warm-ups left out: component {component_warmups}, fallback "
        "{fallback_warmups}".format(**r.requests),
    ]
    for path, figures in r.latency_ms.items():
        shown = ", ".join(f"{k} {_ms(v)}" for k, v in figures.items())
        note = latency_note(path, r.requests)
        lines.append(
            f"  latency {path:<16} {shown}; over {slow_seconds:g} s: {r.slow_answers.get(path, 0)}"
            + (f" ({note})" if note else "")
        )
    if r.fallback_answer_waits:
        f = r.fallback_answer_waits
        lines.append(
            f"  fallback, users' answers p50 {_s(f['p50_s'])}, p99 {_s(f['p99_s'])}, max {_s(f['max_s'])}: the "
            f"{f['answers']} the product client timed, from its call (no pings)"
        )
    lines.append(_slow_line(r.slow_answers, slow_seconds))
    if r.traffic:
        t = r.traffic
        lines.append(
            f"  traffic                  hits {t['hits']} (found it awake), misses {t['misses']} (fallback "
            f"{t['misses_to_fallback']}, failed {t['misses_failed']}); awake hours nobody used "
            f"{t['awake_hours_unused']:.2f} h"
            + (f"; warm-up requests that matched none: {t['warmups_unmatched']}" if t.get("warmups_unmatched") else "")
        )
    if r.plan and not r.plan["days_applied"] + r.plan["days_crons"]:
        lines.append("  plan                     none kept for these days (before the first plan job, or expired)")
    elif r.plan:
        p = r.plan
        lines.append(
            f"  plan                     {p['days_applied']} day(s) learned, {p['days_crons']} on the crons: "
            f"{p['planned_hours']:.2f} h planned, {p['planned_hours_unused']:.2f} h of it unused; requests in its "
            f"windows {p['requests_in_windows']}, outside {p['requests_outside_windows']}"
        )
    if r.waits:
        w = r.waits
        lines.append(
            f"  waits for a wake         {w['wakes_measured']} measured: ready p50 {_s(w['time_to_ready_p50_s'])}, "
            f"max {_s(w['time_to_ready_max_s'])}; expected p50 {_s(w['expected_p50_s'])}, over it p50 "
            f"{_s(w['over_expected_p50_s'])}, max {_s(w['over_expected_max_s'])}; warm-up max {_s(w['warmup_max_s'])}"
        )
    lines.append("")
    if not r.wakes:
        lines.append("  wakes                    none")
    for trigger, w in r.wakes.items():
        lines.append(
            f"  wakes by {trigger:<15} {w['started']} started, {w['ready']} ready, {w['failed']} failed; time to "
            f"ready p50 {_s(w['time_to_ready_p50_s'])}, max {_s(w['time_to_ready_max_s'])}, "
            f"{w['over_estimate']} over what they expected"
        )
    sleeps = ", ".join(f"{k} {v}" for k, v in sorted(r.sleeps.items())) or "none"
    lines.append(f"  sleeps                   {sleeps}; naps (idle check) {r.naps}")
    lines.append(f"  failures                 {len(r.failures) or 'none'}")
    lines += [f"    {f['started']} {f['kind']} {f['execution']}: {f['error']}" for f in r.failures]
    return "\n".join(lines)


def _slow_line(slow: dict[str, float], slow_seconds: float) -> str:
    """What users waited over the line: the product client's count, SageMaker's estimate without it, or the
    larger of the two when the client timed only some of users' requests."""
    cold = f"; fallback cold starts over {slow_seconds:g} s: {slow['cold_fallback']}" if "cold_fallback" in slow else ""
    own = slow.get("own_fallback", 0)
    if own:
        cold += f" (the control plane's own requests over {slow_seconds:g} s: {own:g}, no user's)"
    count = f"{slow['total']:g}"
    if partly_timed(slow):
        source = (
            f"partly timed: the product client timed {slow['timed_answers']} answers ({slow['timed_share_pct']:g} % "
            "of users' requests); the larger of its count and SageMaker's estimate"
        )
    elif slow["timed_answers"]:
        source = f"as the product client timed its {slow['timed_answers']} answers"
    else:
        source = "estimated from SageMaker's metrics (no product client timed its answers)"
        if own:  # up to `own` of the estimate's cold starts were the control plane's, no user's: a range, not one
            count = f"{max(0, slow['total'] - own):g} to {count}"  # count that reads as users who waited
            source += f", up to {own:g} of them the control plane's own cold starts"
    label = f"answers over {slow_seconds:g} s"
    return f"  {label:<25}{count}, {source}{cold}"


def _to_the_second(text: str) -> str:
    """A window's end is the clock's now, microseconds and all (kept in the JSON); the table shows seconds, as its
    start is shown."""
    return iso(datetime.fromisoformat(text), timespec="seconds")


def _usd(value: float) -> str:
    """Dollars to the cent, the sign before the $ ("-$1.20"), and nothing under half a cent signed ("$0.00", not
    "$-0.00": the percentage beside it keeps the sign)."""
    cents = round(value * 100)
    return f"{'-' if cents < 0 else ''}${abs(cents) / 100:.2f}"


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:g} ms"


def _s(value: Any) -> str:
    return "-" if value is None else f"{value:g} s"


def pricing(
    price: float = defaults.INSTANCE_PRICE_PER_HOUR,
    fallback_per_gb_second: float = defaults.SERVERLESS_PRICE_PER_GB_SECOND,
    fallback_memory_mb: int = defaults.FALLBACK_MEMORY_MB,
) -> Prices:
    """The prices the report applies unless told (each written once, in sleepwake.core.defaults, with its
    source); the defaults are the command's."""
    return Prices(
        instance_per_hour=price,
        fallback_per_gb_second=fallback_per_gb_second,
        fallback_memory_gb=fallback_memory_mb / 1024,
        release_minutes=defaults.INSTANCE_RELEASE_MINUTES,
    )


def cmd_report(op: Operator) -> int:
    args = op.args
    prices = pricing(args.price, args.fallback_price_gb_second, args.fallback_memory_mb)
    end = clock.now()
    report = collect(op, end - args.since, end, prices, defaults.SLOW_SECONDS)
    if args.png:
        from sleepwake_cli.report_chart import chart

        try:
            chart(report.as_dict(), args.png, defaults.SLOW_SECONDS)
        except OSError as error:  # after the figures were read: print them, then say why the file is missing
            op.answer(report.as_dict(), table(report, args.price, defaults.SLOW_SECONDS))
            raise Refused(f"could not write the chart to {args.png}: {error.strerror or error}") from error
    text = table(report, args.price, defaults.SLOW_SECONDS) + (f"\n\nchart: {args.png}" if args.png else "")
    op.answer(report.as_dict(), text)
    return OK


def register(subparsers: Any) -> None:
    p = subcommand(
        subparsers,
        "report",
        "what the stack saved and how requests fared over the last --since (default 7d)",
        "Hours awake and asleep and the saving against always-on; requests served by the component, by the "
        "fallback and failed; latency p50/p99/max per path and answers over 3 s; wakes by trigger with their "
        "time to ready and what users waited against the provisioning each wake expected; sleeps and naps; failed "
        "executions; requests that found it awake or asleep, awake hours nobody used, the plan's windows against the "
        "traffic. Read from Step Functions executions, CloudWatch metrics and the state table with the operator's "
        "credentials.",
        REPORT_EXIT_CODES,
    )
    p.add_argument(
        "--since", type=duration, default=timedelta(days=7), metavar="DURATION", help="e.g. 90m, 12h, 2w (default 7d)"
    )
    p.add_argument(
        "--price",
        type=bounded(float, 0, 1000),
        default=defaults.INSTANCE_PRICE_PER_HOUR,
        help=f"instance price, USD per hour (default {defaults.INSTANCE_PRICE_PER_HOUR:g}: ml.inf1.xlarge as "
        "`sleepwake simulate` takes it; pass your region's)",
    )
    p.add_argument(
        "--fallback-memory-mb",
        type=bounded(int, 1024, 6144),
        default=defaults.FALLBACK_MEMORY_MB,
        help=f"the fallback's MemorySizeInMB (default {defaults.FALLBACK_MEMORY_MB}, the template's FallbackMemoryMb)",
    )
    p.add_argument(
        "--fallback-price-gb-second",
        type=bounded(float, 0, 1),
        default=defaults.SERVERLESS_PRICE_PER_GB_SECOND,
        help="USD per GB-second of serverless compute (us-east-1 published price, as `sleepwake simulate`)",
    )
    p.add_argument(
        "--png",
        type=png_file,
        metavar="FILE.png",
        help="also draw the window to this PNG: awake and asleep (the plan's windows outlined), requests per hour "
        "by path, the latency tail of each path",
    )
    p.set_defaults(func=guard(cmd_report))
