"""`sleepwake simulate`: replay a request trace through every policy and report cost and waits."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sleepwake.core import DailyCron
from sleepwake_cli.simulate.engine import FallbackModel, Provisioning, Span
from sleepwake_cli.simulate.policies import Settings, SimulationError, SleepwakeSettings, simulate
from sleepwake_cli.simulate.report import (
    chart,
    closing_note,
    nap_variants,
    nap_variants_table,
    sleepwake_variants,
    table,
    to_json,
    variants_table,
    write_json,
)
from sleepwake_cli.simulate.trace import SyntheticWeek, Trace, load_csv

PRICE_SOURCE = (
    "ml.inf1.xlarge ~$0.20/h as the team reported it (docs/aws-behaviour.md §1); not checked against AWS prices, "
    "which varies by region: pass --price"
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    defaults_prov, defaults_sw = Provisioning(), SleepwakeSettings.from_template()
    p = subparsers.add_parser(
        "simulate",
        help="replay a week of traffic: cost and waits per policy",
        description=(
            "Replay a request trace (a CSV, or a built-in synthetic US week) in simulated time through eight "
            "policies - always on, scheduled only, native autoscale-to-zero, sleepwake, sleepwake with naps and a "
            "serverless CPU fallback, sleepwake with the learned schedule and the fallback (all three driven by "
            "sleepwake.core), the hybrid histogram policy of Shahrad et al., and the oracle (perfect foresight) "
            "- and report instance-hours, cost, saving, requests that met no capacity, waits and wakes as a "
            "table, a JSON file and a PNG chart. Durations given as LOW-HIGH are drawn uniformly per use (seeded)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    src = p.add_argument_group("trace")
    src.add_argument(
        "--trace",
        type=Path,
        metavar="FILE.csv",
        help="CSV of timestamp[,wake_lead_seconds]; default: the built-in synthetic week",
    )
    src.add_argument("--naive-tz", default="UTC", help="time zone for CSV timestamps without an offset")
    src.add_argument("--seed", type=int, default=7, help="seed of the synthetic week and of every drawn duration")
    src.add_argument(
        "--intent-share",
        type=float,
        default=SyntheticWeek.intent_share,
        help="synthetic week: share of sessions whose app calls /wake first",
    )

    cost = p.add_argument_group("cost")
    cost.add_argument(
        "--price", type=float, default=0.20, help="USD per instance hour (ml.inf1.xlarge, docs/aws-behaviour.md §1)"
    )

    prov = p.add_argument_group("provisioning (seconds)")
    prov.add_argument(
        "--scale-up",
        type=Span.parse,
        default=defaults_prov.scale_up,
        metavar="LOW-HIGH",
        help="copy count set to 1 -> a serving copy (docs/aws-behaviour.md §1: 3-4 min)",
    )
    prov.add_argument(
        "--alarm-detection",
        type=Span.parse,
        default=defaults_prov.alarm_detection,
        metavar="LOW-HIGH",
        help="native: no-capacity alarm detection added before scale-up",
    )
    prov.add_argument(
        "--instance-release",
        type=float,
        default=defaults_prov.instance_release_seconds,
        help="instance billed this long after copies reach 0 (docs/aws-behaviour.md §2: ~10 min)",
    )
    prov.add_argument(
        "--native-idle-minutes",
        type=float,
        default=defaults_prov.native_idle_minutes,
        help="native: target tracking scales in after this many idle minutes",
    )
    prov.add_argument(
        "--load-latencies-ms",
        type=_floats,
        default=defaults_prov.load_latencies_ms,
        metavar="A,B,C",
        help="latency of the 1st, 2nd, ... request after a model load (cold effect)",
    )
    prov.add_argument(
        "--steady-latency-ms", type=float, default=defaults_prov.steady_latency_ms, help="latency of a warm request"
    )
    prov.add_argument(
        "--bench",
        type=Path,
        metavar="FILE.json",
        help="model bench result with latencies_ms (requests after a load, in order) and optional "
        "steady_ms; overrides the two options above",
    )

    sw = p.add_argument_group("sleepwake settings (the template's parameters)")
    sw.add_argument("--sleep-cron", default=defaults_sw.sleep_cron)
    sw.add_argument("--sleep-tz", default=defaults_sw.sleep_tz)
    sw.add_argument("--wake-cron", default=defaults_sw.wake_cron)
    sw.add_argument("--wake-tz", default=defaults_sw.wake_tz)
    sw.add_argument(
        "--idle-minutes",
        type=int,
        default=defaults_sw.idle_minutes,
        help="night idle sleep after this many minutes without an invocation",
    )
    sw.add_argument(
        "--idle-check-minutes", type=int, default=defaults_sw.idle_check_minutes, help="how often the idle check runs"
    )
    sw.add_argument(
        "--intent-lease-minutes",
        type=int,
        default=defaults_sw.intent_lease_minutes,
        help="keep_awake_minutes the product sends with an intent /wake (default 0: none)",
    )
    sw.add_argument("--wake-timeout", type=int, default=defaults_sw.wake_timeout_seconds, help="wake timeout (s)")

    sw.add_argument(
        "--nap-idle-minutes",
        type=int,
        default=defaults_sw.nap_idle_minutes,
        help="with the fallback: nap at any hour after this many minutes without an invocation",
    )

    fb_defaults = FallbackModel()
    fb = p.add_argument_group("serverless CPU fallback (the 'sleepwake + naps + fallback' policy)")
    fb.add_argument(
        "--fallback-cold-start",
        type=Span.parse,
        default=fb_defaults.cold_start,
        metavar="LOW-HIGH",
        help="seconds a cold serverless endpoint takes before its first answer",
    )
    fb.add_argument(
        "--fallback-latency-ms", type=float, default=fb_defaults.latency_ms, help="a warm fallback request (CPU)"
    )
    fb.add_argument(
        "--fallback-idle-evict",
        type=float,
        default=fb_defaults.idle_evict_seconds,
        help="seconds an idle serverless endpoint stays warm (unpublished by AWS: an assumption)",
    )
    fb.add_argument("--fallback-memory-gb", type=float, default=fb_defaults.memory_gb, help="ServerlessConfig memory")
    fb.add_argument(
        "--fallback-price-gb-second",
        type=float,
        default=fb_defaults.price_per_gb_second,
        help="USD per GB-second of serverless compute (us-east-1 published price)",
    )

    out = p.add_argument_group("output")
    out.add_argument(
        "--out", type=Path, default=Path("build/simulate"), help="folder for simulate.json and simulate.png"
    )
    out.add_argument("--long-wait-minutes", type=float, default=10.0, help="count waits longer than this")
    out.add_argument("--no-chart", action="store_true", help="skip the PNG")
    out.add_argument("--no-variants", action="store_true", help="skip the one-setting-at-a-time sleepwake runs")
    p.set_defaults(func=run)


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


def _bench_latencies(path: Path) -> tuple[tuple[float, ...], float | None]:
    data: dict[str, Any] = json.loads(path.read_text())
    latencies = data.get("latencies_ms") or data.get("warmup_latencies_ms")
    if not latencies:
        raise ValueError(f"{path}: no latencies_ms list")
    steady = data.get("steady_ms")
    return tuple(float(x) for x in latencies), float(steady) if steady is not None else None


def settings_from(args: argparse.Namespace) -> Settings:
    latencies, steady = tuple(args.load_latencies_ms), args.steady_latency_ms
    if args.bench:
        latencies, bench_steady = _bench_latencies(args.bench)
        steady = bench_steady if bench_steady is not None else latencies[-1]
    sleepwake = SleepwakeSettings(
        sleep_cron=args.sleep_cron,
        sleep_tz=args.sleep_tz,
        wake_cron=args.wake_cron,
        wake_tz=args.wake_tz,
        idle_minutes=args.idle_minutes,
        idle_check_minutes=args.idle_check_minutes,
        wake_timeout_seconds=args.wake_timeout,
        intent_lease_minutes=args.intent_lease_minutes,
        nap_idle_minutes=args.nap_idle_minutes,
    )
    fallback = FallbackModel(
        cold_start=args.fallback_cold_start,
        latency_ms=args.fallback_latency_ms,
        idle_evict_seconds=args.fallback_idle_evict,
        memory_gb=args.fallback_memory_gb,
        price_per_gb_second=args.fallback_price_gb_second,
    )
    DailyCron.parse(sleepwake.sleep_cron, sleepwake.sleep_tz)  # fail on a bad schedule before any work
    DailyCron.parse(sleepwake.wake_cron, sleepwake.wake_tz)
    prov = Provisioning(
        scale_up=args.scale_up,
        alarm_detection=args.alarm_detection,
        instance_release_seconds=args.instance_release,
        native_idle_minutes=args.native_idle_minutes,
        load_latencies_ms=latencies,
        steady_latency_ms=steady,
    )
    return Settings(
        prov=prov,
        sleepwake=sleepwake,
        fallback=fallback,
        price_per_hour=args.price,
        long_wait_minutes=args.long_wait_minutes,
        seed=args.seed,
    )


# Days of history the planner gets before the scored part of a trace (its default max is 28, min 7).
HISTORY_WEEKS = 3


def learning_history(args: argparse.Namespace, settings: Settings) -> tuple[Trace, tuple[datetime, ...], str]:
    """The scored trace and what the learning policies may learn from before it, and a sentence saying which.

    Built-in week: the three weeks before it from the same generator with other seeds (never the scored week).
    A CSV at least min_history_days + 1 days long: the first days warm the planner, every policy is scored
    on the rest. A shorter CSV: no history; the planner keeps the crons until it has learned enough."""
    if not args.trace:
        week = SyntheticWeek(seed=args.seed, intent_share=args.intent_share)
        history = week.earlier_weeks(HISTORY_WEEKS)
        note = (
            f"planner history: {HISTORY_WEEKS} earlier synthetic weeks (seeds {args.seed}+1000k), not the scored week"
        )
        return week.build(), history, note
    trace = load_csv(args.trace, naive_tz=args.naive_tz)
    days = round(trace.hours / 24)
    warm = min(HISTORY_WEEKS * 7, days - 7)
    if warm >= settings.planner.min_history_days:
        history, scored = trace.split(warm)
        return scored, history, f"planner history: the trace's first {warm} days; every policy is scored on the rest"
    return trace, (), f"planner history: none (the trace has {days} days); it follows the crons until it has learned"


def run(args: argparse.Namespace) -> int:
    began = time.perf_counter()
    try:
        settings = settings_from(args)
        trace, history, learning_note = learning_history(args, settings)
        settings = replace(settings, history=history)
        results = simulate(trace, settings)
        variants = [] if args.no_variants else sleepwake_variants(trace, settings)
        naps = [] if args.no_variants else nap_variants(trace, settings)
    except (ValueError, OSError, SimulationError) as exc:
        print(f"sleepwake simulate: {exc}")
        return 2
    note = closing_note(results, variants, settings)

    print(learning_note)
    print(
        f"Trace: {trace.source}, {trace.start:%Y-%m-%d %H:%M} to {trace.end:%Y-%m-%d %H:%M} UTC, "
        f"{len(trace.requests)} requests ({sum(r.wake_lead_seconds is not None for r in trace.requests)} "
        f"with a /wake intent)"
    )
    print(
        f"Scale-up {settings.prov.scale_up} s, alarm +{settings.prov.alarm_detection} s, instance released "
        f"{settings.prov.instance_release_seconds:g} s after 0 copies, load latencies "
        f"{list(settings.prov.load_latencies_ms)} ms then {settings.prov.steady_latency_ms:g} ms\n"
    )
    print(table(results, settings.price_per_hour))
    sw = next((r for r in results if r.key == "sleepwake"), None)
    if variants and sw is not None:
        print()
        print(variants_table(sw, variants))
    sw_naps = next((r for r in results if r.key == "sleepwake_naps"), None)
    if naps and sw_naps is not None:
        print()
        print(nap_variants_table(sw_naps, naps))
    print("\n" + note)

    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "simulate.json"
    write_json(json_path, to_json(trace, settings, results, variants + naps, note, price_source=PRICE_SOURCE))
    written = [str(json_path)]
    if not args.no_chart:
        png = args.out / "simulate.png"
        chart(png, trace, results)
        written.append(str(png))
    print(f"\nWrote {', '.join(written)} in {time.perf_counter() - began:.1f} s")
    return 0
