"""`sleepwake simulate`: replay a request trace through every policy and report cost and waits."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sleepwake.core import DailyCron
from sleepwake.core.keep_warm import KeepWarmMode, KeepWarmSettings
from sleepwake_cli.simulate import frontier
from sleepwake_cli.simulate.charts import chart
from sleepwake_cli.simulate.engine import FallbackModel, Provisioning, Span
from sleepwake_cli.simulate.policies import SimulationError, SimulationSettings, SleepwakeSettings, simulate
from sleepwake_cli.simulate.report import (
    closing_note,
    nap_variants,
    nap_variants_table,
    plural,
    sleepwake_variants,
    table,
    to_json,
    variants_table,
    write_json,
)
from sleepwake_cli.simulate.trace import SyntheticWeek, Trace, load_csv

# Bounds the template's parameters and the wake API already enforce, so the simulator accepts what a deployment
# would and nothing else: IdleMinutes MinValue 1, WakeTimeoutSeconds MinValue 60, keep_awake_minutes 1-720.
MIN_WAKE_TIMEOUT_SECONDS = 60
MAX_KEEP_AWAKE_MINUTES = 720

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
        type=_existing_file,
        metavar="FILE.csv",
        help="CSV of timestamp[,wake_lead_seconds]; default: the built-in synthetic week",
    )
    src.add_argument(
        "--naive-tz", type=_time_zone, default="UTC", help="IANA time zone for CSV timestamps without an offset"
    )
    src.add_argument(
        "--seed", type=_number(int, 0), default=7, help="seed of the synthetic week and of every drawn duration"
    )
    src.add_argument(
        "--intent-share",
        type=_number(float, 0, 1),
        default=SyntheticWeek.intent_share,
        help="synthetic week: share of sessions whose app calls /wake first",
    )

    cost = p.add_argument_group("cost")
    cost.add_argument(
        "--price",
        type=_number(float, 0, above=True),
        default=0.20,
        help="instance price, USD per hour (ml.inf1.xlarge, docs/aws-behaviour.md §1)",
    )

    prov = p.add_argument_group("provisioning (seconds)")
    prov.add_argument(
        "--scale-up",
        type=_span,
        default=defaults_prov.scale_up,
        metavar="LOW-HIGH",
        help="copy count set to 1 -> a serving copy (docs/aws-behaviour.md §1: 3-4 min)",
    )
    prov.add_argument(
        "--alarm-detection",
        type=_span,
        default=defaults_prov.alarm_detection,
        metavar="LOW-HIGH",
        help="native: no-capacity alarm detection added before scale-up",
    )
    prov.add_argument(
        "--instance-release",
        type=_number(float, 0),
        default=defaults_prov.instance_release_seconds,
        help="instance billed this long after copies reach 0 (docs/aws-behaviour.md §2: ~10 min)",
    )
    prov.add_argument(
        "--native-idle-minutes",
        type=_number(float, 0, above=True),
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
        "--steady-latency-ms",
        type=_number(float, 0, above=True),
        default=defaults_prov.steady_latency_ms,
        help="latency of a warm request",
    )
    prov.add_argument(
        "--bench",
        type=_bench,
        metavar="FILE.json",
        help="model bench result with latencies_ms (requests after a load, in order) and optional "
        "steady_ms; overrides the two options above",
    )

    sw = p.add_argument_group("sleepwake settings (the template's parameters)")
    sw.add_argument("--sleep-cron", type=_cron, default=defaults_sw.sleep_cron, help="daily or weekday cron(...)")
    sw.add_argument("--sleep-tz", type=_time_zone, default=defaults_sw.sleep_tz, help="IANA time zone")
    sw.add_argument("--wake-cron", type=_cron, default=defaults_sw.wake_cron, help="daily or weekday cron(...)")
    sw.add_argument("--wake-tz", type=_time_zone, default=defaults_sw.wake_tz, help="IANA time zone")
    sw.add_argument(
        "--idle-minutes",
        type=_number(int, 1),
        default=defaults_sw.idle_minutes,
        help="night idle sleep after this many minutes without an invocation",
    )
    sw.add_argument(
        "--idle-check-minutes",
        type=_number(int, 1),
        default=defaults_sw.idle_check_minutes,
        help="how often the idle check runs",
    )
    sw.add_argument(
        "--intent-lease-minutes",
        type=_number(int, 0, MAX_KEEP_AWAKE_MINUTES),
        default=defaults_sw.intent_lease_minutes,
        help="keep_awake_minutes the product sends with an intent /wake (default 0: none)",
    )
    sw.add_argument(
        "--wake-timeout",
        type=_number(int, MIN_WAKE_TIMEOUT_SECONDS),
        default=defaults_sw.wake_timeout_seconds,
        help="wake timeout (s)",
    )

    sw.add_argument(
        "--nap-idle-minutes",
        type=_number(int, 1),
        default=defaults_sw.nap_idle_minutes,
        help="with the fallback: nap at any hour after this many minutes without an invocation",
    )

    fb_defaults = FallbackModel()
    fb = p.add_argument_group("serverless CPU fallback (the 'sleepwake + naps + fallback' policy)")
    fb.add_argument(
        "--fallback-cold-start",
        type=_span,
        default=fb_defaults.cold_start,
        metavar="LOW-HIGH",
        help="seconds a cold serverless endpoint takes before its first answer",
    )
    fb.add_argument(
        "--fallback-latency-ms",
        type=_number(float, 0, above=True),
        default=fb_defaults.latency_ms,
        help="a warm fallback request (CPU)",
    )
    fb.add_argument(
        "--fallback-idle-evict",
        type=_number(float, 0),
        default=fb_defaults.idle_evict_seconds,
        help="seconds an idle serverless endpoint stays warm (unpublished by AWS: an assumption)",
    )
    fb.add_argument(
        "--fallback-memory-gb",
        type=_number(float, 1, 6),
        default=fb_defaults.memory_gb,
        help="ServerlessConfig memory, 1-6 GB",
    )
    fb.add_argument(
        "--fallback-price-gb-second",
        type=_number(float, 0),
        default=fb_defaults.price_per_gb_second,
        help="USD per GB-second of serverless compute (us-east-1 published price)",
    )

    kw_defaults = KeepWarmSettings()
    kw = p.add_argument_group("keeping the fallback warm (sleepwake.core.keep_warm; every policy with the fallback)")
    kw.add_argument(
        "--keep-warm",
        choices=[m.value for m in KeepWarmMode],
        default=kw_defaults.mode.value,
        help="ping: a request every --ping-minutes while the component sleeps, in the hours users may come; "
        "provisioned: ProvisionedConcurrency 1 scheduled over those hours; prewarm: a request at every sleep and "
        "intent; none: only the pre-warm of an intent that starts a wake",
    )
    kw.add_argument(
        "--ping-minutes",
        type=_number(int, 1, 60),
        default=kw_defaults.ping_minutes,
        help="keep-warm ping interval; must be below --fallback-idle-evict to keep it warm",
    )
    kw.add_argument(
        "--may-come",
        type=_number(float, 0, 1),
        default=kw_defaults.may_come,
        help="keep warm where traffic was seen (within an hour) on at least this share of comparable days; 0: always",
    )
    kw.add_argument(
        "--fallback-provisioned-price-gb-second",
        type=_number(float, 0),
        default=FallbackModel().provisioned_price_per_gb_second,
        help="USD per GB-second of provisioned concurrency (an assumption: AWS's figure could not be read here)",
    )

    out = p.add_argument_group("output")
    out.add_argument(
        "--out", type=_out_dir, default=Path("build/simulate"), help="folder for simulate.json and simulate.png"
    )
    out.add_argument("--long-wait-minutes", type=_number(float, 0), default=10.0, help="count waits longer than this")
    out.add_argument(
        "--slow-seconds",
        type=_number(float, 0, above=True),
        default=3.0,
        help="count answers slower than this (waits for capacity and fallback cold starts included)",
    )
    out.add_argument("--no-chart", action="store_true", help="skip the PNG (and remove one left by an earlier run)")
    out.add_argument(
        "--frontier",
        action="store_true",
        help="also sweep the planner's and the hybrid peer's knobs and compare their saving frontiers against slow "
        "answers and against the fallback share (frontier.json, frontier.png)",
    )
    out.add_argument("--no-variants", action="store_true", help="skip the one-setting-at-a-time sleepwake runs")
    p.set_defaults(func=run)


# Option types: argparse reports what they raise as "argument --OPTION: message", so each message says what
# the value must be, and nothing reaches the simulation that it would choke on or silently misreport.


def _number(
    kind: type[int] | type[float], low: float, high: float | None = None, *, above: bool = False
) -> Callable[[str], Any]:
    """A finite int or float in [low, high] (or above `low` when `above`)."""
    bounds = f"above {low:g}" if above else f"{low:g} or more"
    if high is not None:
        bounds = f"between {low:g} and {high:g}"
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not math.isfinite(value) or value < low or (above and value == low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {noun} {bounds}, got {text!r}")
        return value

    return parse


def _time_zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown time zone {text!r}: give an IANA name such as America/New_York or UTC"
        ) from None
    return text


def _cron(text: str) -> str:
    try:
        DailyCron.parse(text, "UTC")  # the zone is its own option
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _span(text: str) -> Span:
    try:
        return Span.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _floats(text: str) -> tuple[float, ...]:
    if not text.strip():
        raise argparse.ArgumentTypeError("give at least one latency in ms, e.g. 3000,1500,1000")
    items = [x.strip() for x in text.split(",")]
    values: list[float] = []
    for item in items:
        try:
            value = float(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r} in {text!r} is not a number of milliseconds") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"latencies must be above 0 ms, got {item!r}")
        values.append(value)
    return tuple(values)


def _existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        why = "is a folder" if path.is_dir() else "is not a regular file" if path.exists() else "no such file"
        raise argparse.ArgumentTypeError(f"{text}: {why}")
    return path


def _out_dir(text: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a folder")
    return path


def _bench(text: str) -> tuple[tuple[float, ...], float | None]:
    """A model-bench JSON file: `latencies_ms` (requests after a load, in order) and optional `steady_ms`."""
    path = _existing_file(text)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise argparse.ArgumentTypeError(f"{text}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError(f"{text}: expected a JSON object with latencies_ms")
    latencies = data.get("latencies_ms") or data.get("warmup_latencies_ms")
    steady = data.get("steady_ms")

    def ok(x: object) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x > 0

    if not isinstance(latencies, list) or not latencies or not all(ok(x) for x in latencies):
        raise argparse.ArgumentTypeError(f"{text}: latencies_ms must be a non-empty list of milliseconds above 0")
    if steady is not None and not ok(steady):
        raise argparse.ArgumentTypeError(f"{text}: steady_ms must be milliseconds above 0")
    return tuple(float(x) for x in latencies), None if steady is None else float(steady)


def settings_from(args: argparse.Namespace) -> SimulationSettings:
    latencies, steady = tuple(args.load_latencies_ms), args.steady_latency_ms
    if args.bench:
        latencies, bench_steady = args.bench
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
        provisioned_price_per_gb_second=args.fallback_provisioned_price_gb_second,
    )
    keep_warm = KeepWarmSettings(
        mode=KeepWarmMode(args.keep_warm), ping_minutes=args.ping_minutes, may_come=args.may_come
    )
    prov = Provisioning(
        scale_up=args.scale_up,
        alarm_detection=args.alarm_detection,
        instance_release_seconds=args.instance_release,
        native_idle_minutes=args.native_idle_minutes,
        load_latencies_ms=latencies,
        steady_latency_ms=steady,
    )
    return SimulationSettings(
        prov=prov,
        sleepwake=sleepwake,
        fallback=fallback,
        price_per_hour=args.price,
        long_wait_minutes=args.long_wait_minutes,
        slow_seconds=args.slow_seconds,
        keep_warm=keep_warm,
        seed=args.seed,
    )


# Days of history the planner gets before the scored part of a trace (its default max is 28, min 7).
HISTORY_WEEKS = 3


def learning_history(args: argparse.Namespace, settings: SimulationSettings) -> tuple[Trace, tuple[datetime, ...], str]:
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


def _fail(message: str) -> int:
    """One line on stderr, as argparse words its own errors, and the exit status of a usage error."""
    print(f"sleepwake simulate: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    began = time.perf_counter()
    try:
        # The output folder first: a folder that cannot be made fails before minutes of simulation, not after.
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(f"--out {args.out}: {exc.strerror or exc}")
    try:
        settings = settings_from(args)
        trace, history, learning_note = learning_history(args, settings)
        settings = replace(settings, history=history)
        results = simulate(trace, settings)
        variants = [] if args.no_variants else sleepwake_variants(trace, settings)
        naps = [] if args.no_variants else nap_variants(trace, settings)
        points = frontier.sweep(trace, settings) if args.frontier else None
    except OSError as exc:
        return _fail(f"{exc.filename or args.trace}: {exc.strerror or exc}")
    except (ValueError, SimulationError) as exc:
        return _fail(str(exc))
    note = closing_note(results, variants, settings)

    print(learning_note)
    intents = sum(r.wake_lead_seconds is not None for r in trace.requests)
    print(
        f"Trace: {trace.source}, {trace.start:%Y-%m-%d %H:%M} to {trace.end:%Y-%m-%d %H:%M} UTC, "
        f"{plural(len(trace.requests), 'request')} ({intents} with a /wake intent)"
    )
    print(
        f"Scale-up {settings.prov.scale_up} s, alarm +{settings.prov.alarm_detection} s, instance released "
        f"{settings.prov.instance_release_seconds:g} s after 0 copies, load latencies "
        f"{list(settings.prov.load_latencies_ms)} ms then {settings.prov.steady_latency_ms:g} ms\n"
    )
    print(table(results, settings.price_per_hour, settings.slow_seconds))
    sw = next((r for r in results if r.key == "sleepwake"), None)
    if variants and sw is not None:
        print()
        print(variants_table(sw, variants))
    sw_naps = next((r for r in results if r.key == "sleepwake_naps"), None)
    if naps and sw_naps is not None:
        print()
        print(nap_variants_table(sw_naps, naps))
    print("\n" + note)
    frontier_note = ""
    if points is not None:
        frontier_note = frontier.note(points)
        print(f"\nSaving frontier (best saving of any setting swept; keep-warm {settings.keep_warm.mode.value}):")
        print(frontier.table(points))
        print(frontier_note)

    json_path = args.out / "simulate.json"
    png = args.out / "simulate.png"
    try:
        write_json(json_path, to_json(trace, settings, results, variants + naps, note, price_source=PRICE_SOURCE))
        done = [f"Wrote {json_path}"]
        if args.no_chart:
            # A chart from an earlier run would sit beside this run's JSON and be taken for its picture.
            if png.exists():
                png.unlink()
                done.append(f"removed the earlier {png}")
        else:
            chart(png, trace, results, settings.slow_seconds)
            done[0] += f", {png}"
        if points is not None:
            done.append(str(frontier.write(args.out, frontier.to_json(trace, settings, points, frontier_note))))
            if not args.no_chart:
                frontier.chart(args.out / "frontier.png", trace, points)
                done[-1] += f", {args.out / 'frontier.png'}"
    except OSError as exc:
        return _fail(f"--out {args.out}: {exc.strerror or exc}")
    print(f"\n{'; '.join(done)} in {time.perf_counter() - began:.1f} s")
    return 0
