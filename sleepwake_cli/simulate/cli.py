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
from sleepwake.core.keep_warm import KeepWarmMode, KeepWarmSettings, pings_keep_warm
from sleepwake_cli.outputs import out_folder
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


class _DefaultsShown(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's default in its help, except where there is none to show: a flag (False) or an option
    without a value (None; its help says what happens without it, e.g. --trace's built-in week)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False:
            return action.help or ""
        return super()._get_help_string(action) or ""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
        formatter_class=_DefaultsShown,
    )
    # The defaults the options show and start from: each written once, on its settings class.
    top, prov_d, sw_d = SimulationSettings(), Provisioning(), SleepwakeSettings.from_template()
    fb_d, kw_d = FallbackModel(), KeepWarmSettings()
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
    _field(src, top, "--seed", number(int, 0), "seed of the synthetic week and of every drawn duration")
    src.add_argument(
        "--intent-share",
        type=number(float, 0, 1),
        default=SyntheticWeek.intent_share,
        help="synthetic week: share of sessions whose app calls /wake first (the same arrivals at any share)",
    )

    cost = p.add_argument_group("cost")
    price_help = "instance price, USD per hour (ml.inf1.xlarge, docs/aws-behaviour.md §1)"
    _field(cost, top, "--price", number(float, 0, above=True), price_help, field="price_per_hour")

    prov = p.add_argument_group("provisioning (seconds)")
    _field(
        prov,
        prov_d,
        "--scale-up",
        _span,
        "copy count set to 1 -> a serving copy (docs/aws-behaviour.md §1: 3-4 min)",
        metavar="LOW-HIGH",
    )
    _field(
        prov,
        prov_d,
        "--alarm-detection",
        _span,
        "native: no-capacity alarm detection added before scale-up",
        metavar="LOW-HIGH",
    )
    _field(
        prov,
        prov_d,
        "--instance-release",
        number(float, 0),
        "instance billed this long after copies reach 0 (docs/aws-behaviour.md §2: ~10 min)",
        field="instance_release_seconds",
    )
    _field(
        prov,
        prov_d,
        "--native-idle-minutes",
        number(float, 0, above=True),
        "native: target tracking scales in after this many idle minutes",
    )
    _field(
        prov,
        prov_d,
        "--load-latencies-ms",
        _floats,
        "latency of the 1st, 2nd, ... request after a model load (cold effect)",
        metavar="A,B,C",
    )
    _field(prov, prov_d, "--steady-latency-ms", number(float, 0, above=True), "latency of a warm request")
    prov.add_argument(
        "--bench",
        type=_bench,
        metavar="FILE.json",
        help="model bench result with latencies_ms (requests after a load, in order) and optional "
        "steady_ms; overrides the two options above",
    )

    sw = p.add_argument_group("sleepwake settings (the template's parameters)")
    _field(sw, sw_d, "--sleep-cron", _cron, "daily or weekday cron(...)")
    _field(sw, sw_d, "--sleep-tz", _time_zone, "IANA time zone")
    _field(sw, sw_d, "--wake-cron", _cron, "daily or weekday cron(...)")
    _field(sw, sw_d, "--wake-tz", _time_zone, "IANA time zone")
    _field(
        sw,
        sw_d,
        "--idle-minutes",
        number(int, 1),
        "night idle sleep after this many minutes without an invocation",
    )
    _field(sw, sw_d, "--idle-check-minutes", number(int, 1), "how often the idle check runs")
    _field(
        sw,
        sw_d,
        "--intent-lease-minutes",
        number(int, 0, MAX_KEEP_AWAKE_MINUTES),
        "keep_awake_minutes the product sends with an intent /wake (default 0: none, the hold applies)",
    )
    _field(
        sw,
        sw_d,
        "--wake-hold-minutes",
        number(int, 0, MAX_KEEP_AWAKE_MINUTES),
        "a product /wake without keep_awake_minutes holds the component awake this long (WakeHoldMinutes)",
    )
    _field(
        sw,
        sw_d,
        "--wake-timeout",
        number(int, MIN_WAKE_TIMEOUT_SECONDS),
        "wake timeout (s)",
        field="wake_timeout_seconds",
    )
    _field(
        sw,
        sw_d,
        "--nap-idle-minutes",
        number(int, 1),
        "with the fallback: nap at any hour after this many minutes without an invocation",
    )

    fb = p.add_argument_group("serverless CPU fallback (the 'sleepwake + naps + fallback' policy)")
    _field(
        fb,
        fb_d,
        "--fallback-cold-start",
        _span,
        "seconds a cold serverless endpoint takes before its first answer",
        field="cold_start",
        metavar="LOW-HIGH",
    )
    _field(
        fb,
        fb_d,
        "--fallback-latency-ms",
        number(float, 0, above=True),
        "a warm fallback request (CPU)",
        field="latency_ms",
    )
    _field(
        fb,
        fb_d,
        "--fallback-idle-evict",
        number(float, 0),
        "seconds an idle serverless endpoint stays warm (unpublished by AWS: an assumption)",
        field="idle_evict_seconds",
    )
    _field(fb, fb_d, "--fallback-memory-gb", number(float, 1, 6), "ServerlessConfig memory, 1-6 GB", field="memory_gb")
    _field(
        fb,
        fb_d,
        "--fallback-price-gb-second",
        number(float, 0),
        "USD per GB-second of serverless compute (us-east-1 published price)",
        field="price_per_gb_second",
    )

    kw = p.add_argument_group("keeping the fallback warm (sleepwake.core.keep_warm; every policy with the fallback)")
    kw.add_argument(
        "--keep-warm",
        choices=[m.value for m in KeepWarmMode],
        default=kw_d.mode.value,
        help="ping: a request every --ping-minutes while the component sleeps, in the hours users may come; "
        "provisioned: ProvisionedConcurrency 1 scheduled over those hours; prewarm: a request at every sleep and "
        "intent; none: only the pre-warm of an intent that starts a wake",
    )
    _field(
        kw,
        kw_d,
        "--ping-minutes",
        number(int, 1, 60),
        "keep-warm ping interval; must be below --fallback-idle-evict to keep it warm",
    )
    _field(
        kw,
        kw_d,
        "--may-come",
        number(float, 0, 1),
        "keep warm where traffic was seen (within an hour) on at least this share of comparable days; 0: always",
    )
    _field(
        kw,
        fb_d,
        "--fallback-provisioned-price-gb-second",
        number(float, 0),
        "USD per GB-second of provisioned concurrency (an assumption: AWS's figure could not be read here)",
        field="provisioned_price_per_gb_second",
    )

    out = p.add_argument_group("output")
    out.add_argument(
        "--out", type=out_folder, default=Path("build/simulate"), help="folder for simulate.json and simulate.png"
    )
    _field(out, top, "--long-wait-minutes", number(float, 0), "count waits longer than this")
    slow_help = "count answers slower than this (waits for capacity and fallback cold starts included)"
    _field(out, top, "--slow-seconds", number(float, 0, above=True), slow_help)
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


def number(
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


def _field(
    group: argparse._ArgumentGroup,
    defaults: object,
    flag: str,
    kind: Callable[[str], Any],
    help: str,
    *,
    field: str | None = None,
    metavar: str | None = None,
) -> None:
    """An option that sets one field of a settings dataclass (the flag's name unless `field` says), its default
    that field's in `defaults`: each default is written once, on its settings class."""
    name = flag.lstrip("-").replace("-", "_")
    field = field or name
    default = getattr(defaults, field)
    if isinstance(default, tuple):  # shown in --help as typed ("3000,1500,1000"); argparse parses a str default
        default = ",".join(str(value).removesuffix(".0") for value in default)
    group.add_argument(
        flag,
        type=kind,
        default=default,
        dest=f"{type(defaults).__name__}.{field}",
        metavar=metavar or name.upper(),
        help=help,
    )


def _fields(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of `cls` the options (`_field`) set."""
    prefix = f"{cls.__name__}."
    return {key[len(prefix) :]: value for key, value in vars(args).items() if key.startswith(prefix)}


def settings_from(args: argparse.Namespace) -> SimulationSettings:
    prov = _fields(args, Provisioning)
    prov["load_latencies_ms"] = tuple(prov["load_latencies_ms"])
    if args.bench:
        latencies, bench_steady = args.bench
        prov |= {
            "load_latencies_ms": latencies,
            "steady_latency_ms": latencies[-1] if bench_steady is None else bench_steady,
        }
    return SimulationSettings(
        prov=Provisioning(**prov),
        sleepwake=SleepwakeSettings(**_fields(args, SleepwakeSettings)),
        fallback=FallbackModel(**_fields(args, FallbackModel)),
        keep_warm=KeepWarmSettings(mode=KeepWarmMode(args.keep_warm), **_fields(args, KeepWarmSettings)),
        **_fields(args, SimulationSettings),
    )


# Days of history the planner gets before the scored part of a trace (its default max is 28, min 7).
HISTORY_WEEKS = 3


def learning_history(args: argparse.Namespace, settings: SimulationSettings) -> tuple[Trace, tuple[datetime, ...], str]:
    """The scored trace and what the learning policies may learn from before it, and a sentence saying which.

    Built-in week: the three weeks before it from the same generator with other seeds (never the scored week).
    A CSV at least min_history_days + 1 days long: the first days warm the planner, every policy is scored
    on the rest. A shorter CSV: no history; the planner keeps the crons until it has learned enough."""
    if not args.trace:
        week = SyntheticWeek(seed=settings.seed, announced_share=args.intent_share)  # the same users at any share
        history = week.earlier_weeks(HISTORY_WEEKS)
        seeds = f"seeds {settings.seed}+1000k"
        note = f"planner history: {HISTORY_WEEKS} earlier synthetic weeks ({seeds}), not the scored week"
        return week.build(), history, note
    trace = load_csv(args.trace, naive_tz=args.naive_tz)
    days = round(trace.hours / 24)
    warm = min(HISTORY_WEEKS * 7, days - 7)
    if warm >= settings.planner.min_history_days:
        history, scored = trace.split(warm)
        return scored, history, f"planner history: the trace's first {warm} days; every policy is scored on the rest"
    return (
        trace,
        (),
        f"planner history: none (the trace has {plural(days, 'day')}); it follows the crons until it has learned",
    )


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

    kw, evict = settings.keep_warm, settings.fallback.idle_evict_seconds / 60
    if kw.mode is KeepWarmMode.PING and not pings_keep_warm(kw.ping_minutes, evict):
        print(
            f"sleepwake simulate: note: --ping-minutes {kw.ping_minutes} is not below --fallback-idle-evict "
            f"{evict * 60:g} s ({evict:g} min): each ping comes after the fallback went cold, so pings never keep it "
            "warm (as FallbackPingMinutes >= FallbackIdleEvictMinutes on a stack)",
            file=sys.stderr,
        )
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
    limit = frontier.bound(trace, settings) if points is not None else None
    if points is not None:
        frontier_note = frontier.note(points, limit)
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
            done.append(str(frontier.write(args.out, frontier.to_json(trace, settings, points, frontier_note, limit))))
            if not args.no_chart:
                frontier.chart(args.out / "frontier.png", trace, points, limit)
                done[-1] += f", {args.out / 'frontier.png'}"
    except OSError as exc:
        return _fail(f"--out {args.out}: {exc.strerror or exc}")
    print(f"\n{'; '.join(done)} in {time.perf_counter() - began:.1f} s")
    return 0
