"""`make replay TRACE=file.csv`: a trace through the real control plane on the local stack, then the report over
the replayed window and the simulator on the same trace with the same settings, side by side (issue 16 item 3).

What runs: template.yaml deployed with its defaults (create mode) on the emulator, the stand-in model for the
copies and the fallback (the replay measures the control plane: schedules, alarms, state machines, handlers,
the product's client, not the model's speed), the clock starting shortly before the trace's window and
jumping when idle. At the window's start the component is where the simulator starts it: asleep if the
window opens in the quiet hours (a forced sleep, as `sleepwake sleep --force`), else ready.

Which simulator policy matches: the template's defaults are `ScheduleMode` learned with a fallback
(`CreateFallback` true), `FallbackKeepWarm` ping. A learned plan needs 7 days of request history in CloudWatch;
a replayed stack starts with none, so on every day of the replay the plan job keeps the crons (it says so), and
the idle check naps after `NapIdleMinutes` at any hour (sleepwake/control/sleep.py). The simulator's
`sleepwake_planner` policy with no history does the same (`simulated_policy`), with the same keep-warm and the
emulator's timings (`simulator_settings`), so the two sides differ only in what the simulator abstracts.

replay.json: the replay's `saving_vs_always_on_pct` and `instance_hours` from the report (what `sleepwake
report` reads: Step Functions executions, CloudWatch, the state table); `requests`, `failed`,
`served_by_fallback` and `slow_answers` from the driver's own records (what each user saw; the report, kept
under `report`, leaves the control plane's warm-ups out and counts its slow answers from what the product
client timed, so tests/e2e/test_replay.py holds the two equal). `simulated` has the same keys from the simulator.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from localaws.demo_planner import seed_history
from localaws.local_stack import LocalStack
from localaws.replay import LATE_KEY, LATE_SECONDS, Driver, Sent, requests_of, timeliness
from localaws.sagemaker import SageMakerSwitches
from localaws.sagemaker_serverless import ServerlessSwitches
from localaws.stand_in import STAND_IN_LATENCY_MS, StandInModel
from sleepwake.core import defaults
from sleepwake.core.keep_warm import KeepWarmMode, KeepWarmSettings
from sleepwake.core.report import Report
from sleepwake_cli.command import bounded
from sleepwake_cli.simulate.base import SimulationSettings, SleepwakeSettings
from sleepwake_cli.simulate.engine import FallbackModel, Outcome, PolicyResult, Provisioning, Span
from sleepwake_cli.simulate.policies import POLICIES
from sleepwake_cli.simulate.sleepwake_policies import SleepwakePlanner
from sleepwake_cli.simulate.trace import Trace, load_csv

# Before a window that opens in the quiet hours: the deploy, then a forced sleep whose instance is gone (10 min)
# when the window opens. Before one that opens by day: the deploy only, whose warm-up keeps the component
# from napping before the window (the simulator starts it ready, with no request yet).
LEAD_IN_QUIET = timedelta(minutes=30)
LEAD_IN_DAY = timedelta(minutes=5)
# Emulated seconds per wall second while the clock cannot jump: requests and handlers that outlast their soft
# pause (slow ones, on a loaded machine); what runs over shows up this many times over.
SPEED = 20.0
IDLE_SETTLE = 0.01  # wall seconds nothing may change before a jump (EmulatedClock.idle_settle; 0.05 default)
# The emulator's own defaults (the stack below runs with them); every figure takes defaults.INSTANCE_PRICE_PER_HOUR.
PROVISIONING = SageMakerSwitches.provisioning_seconds
FALLBACK_COLD_START = ServerlessSwitches.cold_start_seconds
FIGURES = ("saving_vs_always_on_pct", "failed", "served_by_fallback", "slow_answers", "requests", "instance_hours")


def simulator_settings(local: LocalStack) -> SimulationSettings:
    """The simulator configured as the replayed stack is: the template's defaults, the emulator's timings and
    the stand-in model's latency, keep-warm as deployed (FallbackKeepWarm), no planner history."""
    sagemaker = local.emu.sagemaker.switches
    serverless = local.emu.serverless.switches
    copy = sagemaker.copy_on_instance_seconds
    keep_warm = local.parameters.get("FallbackKeepWarm", defaults.FALLBACK_KEEP_WARM)
    return SimulationSettings(
        prov=Provisioning(
            scale_up=Span(sagemaker.provisioning_seconds, sagemaker.provisioning_seconds),
            copy_on_instance=Span(copy, copy),
            instance_release_seconds=sagemaker.release_seconds,
            load_latencies_ms=(STAND_IN_LATENCY_MS,),
            steady_latency_ms=STAND_IN_LATENCY_MS,
        ),
        sleepwake=SleepwakeSettings.from_template(),
        fallback=FallbackModel(
            cold_start=Span(serverless.cold_start_seconds, serverless.cold_start_seconds),
            latency_ms=STAND_IN_LATENCY_MS,
            idle_evict_seconds=serverless.idle_evict_seconds,
        ),
        keep_warm=replace(KeepWarmSettings(), mode=KeepWarmMode(keep_warm)),
        price_per_hour=defaults.INSTANCE_PRICE_PER_HOUR,
        slow_seconds=defaults.SLOW_SECONDS,
    )


def simulate_planner(trace: Trace, settings: SimulationSettings) -> tuple[PolicyResult, list[Outcome]]:
    """The `sleepwake_planner` policy on `trace`, seeded as `sleepwake simulate` seeds it, with its outcomes."""
    index = POLICIES.index(SleepwakePlanner)
    policy = SleepwakePlanner(trace, settings, np.random.default_rng([settings.seed, index]))
    result = policy.run()
    always_on = trace.hours * settings.price_per_hour
    result.saving_pct = 100 * (1 - result.cost / always_on)
    return result, policy.outcomes


def start_stack(trace: Trace, out: Path, speed: float = SPEED, history: tuple[datetime, ...] = ()) -> LocalStack:
    """The local stack for a replay of `trace`, deployed shortly before its window and in the state the
    simulator starts in: asleep when the window opens in the quiet hours, else ready. `history`: requests
    before the window, seeded as the component's Invocations (as `make local --seed-history` seeds them), then the
    plan job run once (the window may open after its 00:05 run), so the planner learns from them as the
    simulator's does from the same requests, from the window's first day on."""
    quiet = SleepwakeSettings.from_template().quiet_hours().is_quiet(trace.start)
    local = LocalStack(
        start=trace.start - (LEAD_IN_QUIET if quiet else LEAD_IN_DAY),
        speed=speed,
        port=0,
        api_port=0,
        provisioning_seconds=PROVISIONING,
        fallback_cold_start_seconds=FALLBACK_COLD_START,
        deployment_file=out / "deployment.json",
        model_server_factory=StandInModel,
        fallback_server_factory=StandInModel,
    )
    clock = local.clock
    with clock.jumping():  # the deploy's waits (the endpoint's instance, the fallback) cost no wall time: as
        local.start()  # tests/stacks.py deploys, every timer firing at its own emulated instant
    try:
        with clock.paused():
            seed_history(local, iter(history))
        if history:  # the plan job once now, as `sleepwake plan --apply` after a deploy: the first day is planned
            local.emu.scheduler.fire_now(local.outputs["PlanScheduleName"])  # too, as the simulator plans it
        clock.idle_settle = IDLE_SETTLE
        clock.jump_when_idle(True)
        if quiet:
            result = local.forced_sleep(timeout=1200)
            if result.get("status") != "SUCCEEDED":
                raise RuntimeError(f"the replay's initial sleep did not succeed: {result.get('status')}")
    except BaseException:
        local.stop()
        raise
    return local


def report_of(local: LocalStack, trace: Trace) -> Report:
    """`sleepwake report` over the trace's window, read as the operator with the CLI's own functions."""
    from sleepwake import clock as sleepwake_clock
    from sleepwake_cli.command import operator_for
    from sleepwake_cli.report import collect, pricing

    assert local.deployment_file
    op = operator_for(local.deployment_file)
    with sleepwake_clock.using(op.clock.now, op.clock.sleep):
        return collect(op, trace.start, trace.end, pricing(), defaults.SLOW_SECONDS)


def own_requests(invocations: list[Any]) -> dict[str, int]:
    """The control plane's own requests during the replay, from the emulator's Lambda records: the warm-up
    function's requests to the component (after each wake) and to the fallback (pre-warms): what the report's
    `component_warmups` and `fallback_warmups` must be."""
    component = fallback = 0
    for record in invocations:
        if not record.function_name.endswith("WarmupFunction") or not isinstance(record.result, dict):
            continue
        target = (record.event or {}).get("target")
        if target == "fallback":
            fallback += 1
        elif target == "keep-warm":
            fallback += bool(record.result.get("pinged"))
        else:
            component += len(record.result.get("latencies_ms") or [])
    return {"component_warmups": component, "fallback_warmups": fallback}


def replayed_figures(report: Report, sent: list[Sent]) -> dict[str, Any]:
    truth = requests_of(sent, defaults.SLOW_SECONDS)
    return {
        "saving_vs_always_on_pct": report.saving_vs_always_on_pct,
        "instance_hours": report.instance_hours,
        **{k: truth[k] for k in ("requests", "failed", "served_by_fallback", "slow_answers")},
    }


def simulated_figures(result: PolicyResult) -> dict[str, Any]:
    return {
        "saving_vs_always_on_pct": round(result.saving_pct, 1),
        "instance_hours": round(result.instance_hours, 3),
        "requests": result.requests,
        "failed": result.failed,
        "served_by_fallback": result.served_by_fallback,
        "slow_answers": result.slow_answers,
    }


# Issue 16's goals for a replay against the simulator: saving within 3 points, failed equal, slow answers within 2.
SAVING_POINTS = 3.0
SLOW_ANSWERS = 2


def compare(replayed: dict[str, Any], simulated: dict[str, Any]) -> dict[str, Any]:
    """The differences (replayed - simulated) and whether issue 16's goals were met (`missed_goals`)."""
    saving = round(replayed["saving_vs_always_on_pct"] - simulated["saving_vs_always_on_pct"], 1)
    return {
        "saving_points": saving,
        "failed": replayed["failed"] - simulated["failed"],
        "slow_answers": replayed["slow_answers"] - simulated["slow_answers"],
        "goals_met": not missed_goals(replayed, simulated),
    }


def missed_goals(replayed: dict[str, Any], simulated: dict[str, Any]) -> list[str]:
    """One line per goal the replay missed against the simulator (`make replay`'s --check); none when all met."""
    missed = []
    saving = round(replayed["saving_vs_always_on_pct"] - simulated["saving_vs_always_on_pct"], 1)
    if abs(saving) > SAVING_POINTS:
        missed.append(
            f"saving: replayed {replayed['saving_vs_always_on_pct']} % vs simulated "
            f"{simulated['saving_vs_always_on_pct']} %, {saving:+g} points (goal: within {SAVING_POINTS:g})"
        )
    if replayed["failed"] != simulated["failed"]:
        missed.append(f"failed: replayed {replayed['failed']} vs simulated {simulated['failed']} (goal: equal)")
    slow = replayed["slow_answers"] - simulated["slow_answers"]
    if abs(slow) > SLOW_ANSWERS:
        missed.append(
            f"slow answers: replayed {replayed['slow_answers']} vs simulated {simulated['slow_answers']}, "
            f"{slow:+d} (goal: within {SLOW_ANSWERS})"
        )
    return missed


LATE_SHARE_PCT = 1.0  # more of the driver's calls than this sent over LATE_SECONDS late: the traffic has moved


def unfaithful(document: dict[str, Any]) -> list[str]:
    """One line per way the replay did not play its trace (`--check` fails on them as on a missed goal: a
    comparison of traffic that moved, or of intents the stack refused, says nothing about the control plane).
    A few late sends are normal: a request queued behind a cold start leaves late."""
    lines = []
    if document["failed_intents"]:
        lines.append(f"intents: {document['failed_intents']} POST /wake got no 2xx (replay.json failed_intent_details)")
    late = document["late_sends"]
    share = 100 * late[LATE_KEY] / late["calls"] if late.get("calls") else 0.0
    if share > LATE_SHARE_PCT:
        lines.append(
            f"late sends: {late[LATE_KEY]} of {late['calls']} calls left over {LATE_SECONDS:g} s after they were due "
            f"({share:.1f} %, limit {LATE_SHARE_PCT:g} %): the driver fell behind the trace (a loaded machine?)"
        )
    return lines


def planned_days(invocations: list[Any], trace: Trace) -> dict[str, bool]:
    """Day (in the wake zone) of the trace's window -> whether the plan job learned its windows (else it kept
    the crons), from each run's first day (today), as the emulator's Lambda records hold them."""
    zone = ZoneInfo(SleepwakeSettings.from_template().quiet_hours().wake.tz)
    first, last = trace.start.astimezone(zone).date(), (trace.end - timedelta(seconds=1)).astimezone(zone).date()
    days: dict[str, bool] = {}
    for record in invocations:
        if record.function_name.endswith("PlanDayFunction") and isinstance(record.result, dict):
            planned = record.result.get("days") or []
            if planned and first.isoformat() <= str(planned[0]["day"]) <= last.isoformat():
                days[str(planned[0]["day"])] = bool(planned[0]["learned"])
    return days


def plan_errors(invocations: list[Any]) -> list[str]:
    """The plan job's runs that failed (error type and message), which `planned_days` cannot show."""
    return [
        f"{record.error_type}: {record.error_message}"
        for record in invocations
        if record.function_name.endswith("PlanDayFunction") and getattr(record, "error_type", None)
    ]


def split_history(trace: Trace, weeks: int) -> tuple[tuple[datetime, ...], Trace]:
    """(history, replayed): the trace's first `weeks` weeks are history, the rest is replayed (as `sleepwake
    simulate --trace` warms its planner on a long trace's first weeks, `Trace.split`)."""
    if not weeks:
        return (), trace
    return trace.split(7 * weeks)


def replay(
    trace: Trace, out: Path, *, progress: bool = True, workers: int = 4, history_weeks: int = 0
) -> dict[str, Any]:
    """The whole replay: writes `<out>/replay.json` and `<out>/replay.png`; returns the document. With
    `history_weeks`, the trace's first weeks are the planner's history on both sides and the rest is replayed."""
    history, trace = split_history(trace, history_weeks)
    out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with (out / "replay.log").open("w") as log, contextlib.redirect_stdout(log):  # the functions' JSON logs
        local = start_stack(trace, out, history=history)
        try:
            before = len(local.emu.lambdas.invocations)
            driver = Driver(local, trace, workers=workers, progress=progress)
            sent = driver.run()
            own = own_requests(local.emu.lambdas.invocations[before:])
            plans = planned_days(local.emu.lambdas.invocations, trace)
            failed_plans = plan_errors(local.emu.lambdas.invocations)
            with local.clock.paused():  # no schedule fires while the report reads the window
                report = report_of(local, trace)
            jumps, deploy_to_end = local.clock.jumps, driver.wall_seconds
            components = local.emu.component(local.outputs["InferenceComponentName"]).history
            settings = replace(simulator_settings(local), history=history)
        finally:
            local.stop()
    result, outcomes = simulate_planner(trace, settings)
    replayed, simulated = replayed_figures(report, sent), simulated_figures(result)
    document = {
        "trace": {
            "source": trace.source,
            "start": trace.start.isoformat(),
            "end": trace.end.isoformat(),
            "requests": len(trace.requests),
            "intents": sum(r.wake_lead_seconds is not None for r in trace.requests),
        },
        "history": {
            "weeks": history_weeks,
            "requests": len(history),
            "replayed_learned_days": sum(plans.values()),
            "replayed_plans": plans,
            "replayed_plan_errors": failed_plans,
            "simulated_learned_days": result.details.get("plans", {}).get("learned_days", 0),
        },
        **replayed,
        "simulated_policy": SleepwakePlanner.key,
        "simulated": simulated,
        "differences": compare(replayed, simulated),
        "report": report.as_dict(),
        "driver": requests_of(sent, defaults.SLOW_SECONDS) | {"intents": len(driver.intents)},
        **timeliness(sent, driver.intents),
        "control_plane_requests": own,
        "slow": [
            {"sent": s.sent.isoformat(), "latency_s": round(s.latency_s, 1), "path": s.path}
            for s in sent
            if s.ok and s.latency_s > defaults.SLOW_SECONDS
        ],
        "failures": [{"sent": s.sent.isoformat(), "error": s.error} for s in sent if not s.ok],
        "simulated_details": result.details,
        "run": {
            "wall_seconds": round(time.monotonic() - began, 1),
            "replay_wall_seconds": round(deploy_to_end, 1),
            "clock_jumps": jumps,
            "speed": SPEED,
            "idle_settle": IDLE_SETTLE,
        },
    }
    (out / "replay.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    from localaws.replay_chart import chart

    chart(out / "replay.png", trace, report, sent, components, result, outcomes, defaults.SLOW_SECONDS)
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make replay",
        description="Replay a trace through the local stack and compare with the simulator (issue 16).",
    )
    parser.add_argument("trace", type=Path, help="CSV of timestamp[,wake_lead_seconds] (sleepwake simulate --trace)")
    parser.add_argument("--out", type=Path, default=Path("build/replay"), help="folder for replay.json and .png")
    parser.add_argument("--workers", type=bounded(int, 1, 64), default=4, help="requests in flight at once")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument(
        "--history-weeks",
        type=bounded(int, 0, 4),
        default=0,
        help="the trace's first N weeks are the planner's request history (seeded, not replayed) on both sides, "
        "so the learned plan runs (default 0: no history, the crons every day)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1, with one line per goal missed, unless the replay meets issue 16's goals against the simulator",
    )
    args = parser.parse_args(argv)
    if not args.trace.is_file():
        print(f"make replay: error: TRACE {args.trace}: no such file", file=sys.stderr)
        return 2
    try:
        trace = load_csv(args.trace)
        split_history(trace, args.history_weeks)  # a trace too short for its history fails before the deploy
    except ValueError as exc:  # the trace's own errors say file:line
        print(f"make replay: error: {exc}", file=sys.stderr)
        return 2
    try:
        document = replay(
            trace, args.out, progress=not args.no_progress, workers=args.workers, history_weeks=args.history_weeks
        )
    except OSError as exc:
        print(f"make replay: error: {exc}", file=sys.stderr)
        return 2
    keys = FIGURES
    print(f"{'':26}{'replayed':>12}{'simulated':>12}")
    for key in keys:
        print(f"{key:26}{document[key]!s:>12}{document['simulated'][key]!s:>12}")
    late = document["late_sends"]
    print(
        f"driver: sent late by max {late['max_s']:g} s, p99 {late['p99_s']:g} s, "
        f"{late[LATE_KEY]} over {LATE_SECONDS:g} s; failed intents {document['failed_intents']}"
    )
    d = document["differences"]
    print(
        f"saving {d['saving_points']:+g} points, failed {d['failed']:+d}, slow answers {d['slow_answers']:+d}: "
        f"goals {'met' if d['goals_met'] else 'NOT met'}; {document['run']['wall_seconds']:.0f} s wall; "
        f"wrote {args.out / 'replay.json'}, {args.out / 'replay.png'}"
    )
    if args.check:
        missed = missed_goals({k: document[k] for k in FIGURES}, document["simulated"]) + unfaithful(document)
        for line in missed:
            print(f"make replay: goal missed: {line}", file=sys.stderr)
        return 1 if missed else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
