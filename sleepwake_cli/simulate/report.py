"""What the simulator hands back: a terminal table, a JSON file, a PNG chart and a closing note in words."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from sleepwake.core import defaults
from sleepwake_cli.simulate.engine import PolicyResult
from sleepwake_cli.simulate.policies import SimulationSettings, simulate
from sleepwake_cli.simulate.trace import Trace


@dataclass(frozen=True)
class Variant:
    """One sleepwake setting changed from the configured value, all else equal."""

    setting: str
    value: str
    result: PolicyResult


def sleepwake_variants(trace: Trace, settings: SimulationSettings) -> list[Variant]:
    """Change one setting at a time (the schedule also as a pair) and replay sleepwake alone."""
    sw = settings.sleepwake
    cases: list[tuple[str, str, SimulationSettings, Trace]] = []
    for minutes in (15, 60):
        if minutes != sw.idle_minutes:
            cases.append(
                ("idle minutes", str(minutes), replace(settings, sleepwake=replace(sw, idle_minutes=minutes)), trace)
            )
    if any(r.wake_lead_seconds is not None for r in trace.requests):
        cases.append(("intent lead", "no /wake intent", settings, trace.with_intent_lead(None)))
        for lead in (60, 600):
            cases.append(("intent lead", f"{lead // 60} min", settings, trace.with_intent_lead(lead)))
        if not sw.intent_lease_minutes:
            leased = replace(settings, sleepwake=replace(sw, intent_lease_minutes=15))
            cases.append(("keep_awake_minutes", "15 min on intent", leased, trace))
    schedules = {
        "sleep 21:00 Los_Angeles": replace(sw, sleep_cron="cron(0 21 * * ? *)", sleep_tz="America/Los_Angeles"),
        "wake MON-FRI only": replace(sw, wake_cron=sw.wake_cron.replace("* * ? *", "? * MON-FRI *")),
        "sleep 21:00 LA + wake MON-FRI": replace(
            sw,
            sleep_cron="cron(0 21 * * ? *)",
            sleep_tz="America/Los_Angeles",
            wake_cron=sw.wake_cron.replace("* * ? *", "? * MON-FRI *"),
        ),
    }
    for label, changed in schedules.items():
        if changed != sw:
            cases.append(("schedule", label, replace(settings, sleepwake=changed), trace))
    return [
        Variant(setting, value, simulate(case_trace, case_settings, keys=("sleepwake",))[0])
        for setting, value, case_settings, case_trace in cases
    ]


def nap_variants(trace: Trace, settings: SimulationSettings) -> list[Variant]:
    """The neighbours of the nap defaults (idle minutes, check rate), replayed with the fallback policy alone:
    how the defaults were chosen, reproducible on any trace."""
    sw = settings.sleepwake
    cases: list[tuple[str, str, SimulationSettings]] = []
    for minutes in (10, 15, 20, 30):
        if minutes != sw.nap_idle_minutes:
            changed = replace(settings, sleepwake=replace(sw, nap_idle_minutes=minutes))
            cases.append(("nap idle minutes", str(minutes), changed))
    for check in (5, 15):
        if check != sw.idle_check_minutes:
            changed = replace(settings, sleepwake=replace(sw, idle_check_minutes=check))
            cases.append(("idle check every", f"{check} min", changed))
    return [
        Variant(setting, value, simulate(trace, case, keys=("sleepwake_naps",))[0]) for setting, value, case in cases
    ]


def nap_variants_table(base: PolicyResult, variants: list[Variant]) -> str:
    head = ["naps + fallback setting", "value", "cost $", "saving", "failed", "by fallback", "fallback $", "wakes"]

    def row(setting: str, value: str, r: PolicyResult) -> list[str]:
        share = 100 * r.served_by_fallback / max(r.requests, 1)
        return [
            setting,
            value,
            f"{r.cost:.2f}",
            f"{r.saving_pct:.1f} %",
            str(r.failed),
            f"{r.served_by_fallback} ({share:.1f} %)",
            f"{r.fallback_cost:.2f}",
            str(r.wakes),
        ]

    return grid(head, [row("(as configured)", "", base), *(row(v.setting, v.value, v.result) for v in variants)])


def plural(n: int, noun: str) -> str:
    """`1 request`, `2 requests`, `0 requests`: the nouns the report counts all take an s."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _meet(n: int) -> str:
    return f"{plural(n, 'request')} {'meets' if n == 1 else 'meet'}"


def fmt_wait(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds else "0"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def table(results: list[PolicyResult], price_per_hour: float, slow_seconds: float = defaults.SLOW_SECONDS) -> str:
    head = [
        "policy",
        "inst-h",
        f"cost $ (@{price_per_hour:g}/h)",
        "fallback $",
        "saving",
        "failed",
        "by fallback",
        "lat p50",
        "lat p95",
        "lat p99",
        "lat max",
        f"> {slow_seconds:g} s",
        "fb cold",
        "max wait",
        "wakes",
    ]
    rows = [
        [
            r.label,
            f"{r.instance_hours:.1f}",
            f"{r.cost:.2f}",
            f"{r.fallback_cost:.2f}",
            f"{r.saving_pct:.1f} %",
            str(r.failed),
            str(r.served_by_fallback),
            fmt_wait(r.latency_p50_s),
            fmt_wait(r.latency_p95_s),
            fmt_wait(r.latency_p99_s),
            fmt_wait(r.latency_max_s),
            str(r.slow_answers),
            str(r.fallback_cold_starts),
            fmt_wait(r.wait_max_s),
            str(r.wakes),
        ]
        for r in results
    ]
    return grid(head, rows)


def variants_table(base: PolicyResult, variants: list[Variant]) -> str:
    head = ["sleepwake setting", "value", "cost $", "saving", "no-cap", "p95", "max", "wakes"]
    rows = [
        [
            "(as configured)",
            "",
            f"{base.cost:.2f}",
            f"{base.saving_pct:.1f} %",
            str(base.met_no_capacity),
            fmt_wait(base.wait_p95_s),
            fmt_wait(base.wait_max_s),
            str(base.wakes),
        ]
    ]
    for v in variants:
        r = v.result
        rows.append(
            [
                v.setting,
                v.value,
                f"{r.cost:.2f}",
                f"{r.saving_pct:.1f} %",
                str(r.met_no_capacity),
                fmt_wait(r.wait_p95_s),
                fmt_wait(r.wait_max_s),
                str(r.wakes),
            ]
        )
    return grid(head, rows)


def grid(head: list[str], rows: list[list[str]]) -> str:
    """A plain-text table: the first two columns left-aligned, the figures right-aligned."""
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]
    line = "  ".join("-" * w for w in widths)

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([fmt(head), line, *(fmt(r) for r in rows)])


def closing_note(results: list[PolicyResult], variants: list[Variant], settings: SimulationSettings) -> str:
    """The answer in words: saving and waits per policy, and which sleepwake setting moves the result most."""
    long = settings.long_wait_minutes
    lines = []
    for r in results:
        if r.key == "always_on":
            lines.append(f"- {r.label}: ${r.cost:.2f} for the period, the baseline; nobody waits.")
            continue
        if r.served_by_fallback:
            share = 100 * r.served_by_fallback / max(r.requests, 1)
            waits = (
                f"{r.failed} failed; {r.served_by_fallback} of {plural(r.requests, 'request')} ({share:.1f} %) "
                f"answered by the fallback (${r.fallback_cost:.2f}, keeping it warm ${r.keep_warm_cost:.2f} of it); "
                f"latency p50 {fmt_wait(r.latency_p50_s)}, "
                f"p95 {fmt_wait(r.latency_p95_s)}"
            )
        elif r.met_no_capacity == 0 and r.wait_max_s < 1:
            waits = "nobody waits"
        else:
            waits = (
                f"{r.met_no_capacity} of {plural(r.requests, 'request')} met no capacity, "
                f"wait p50 {fmt_wait(r.wait_p50_s)}, "
                f"p95 {fmt_wait(r.wait_p95_s)}, max {fmt_wait(r.wait_max_s)}; {r.long_waits} waited over {long:g} min"
            )
        lines.append(
            f"- {r.label}: saves {r.saving_pct:.1f} % (${r.cost:.2f}); {waits}; {_tail(r, settings.slow_seconds)}; "
            f"{plural(r.wakes, 'wake')}."
        )
    sw = next((r for r in results if r.key == "sleepwake"), None)
    if sw is not None and variants:
        lines.append(_most_important(sw, variants))
    return "\n".join(lines)


def _tail(r: PolicyResult, slow_seconds: float) -> str:
    """The latency tail in words: what p95 hides."""
    cold = f" ({plural(r.fallback_cold_starts, 'fallback cold start')} met)" if r.fallback_cold_starts else ""
    return (
        f"{_answer(r.slow_answers)} over {slow_seconds:g} s{cold}, latency p99 {fmt_wait(r.latency_p99_s)}, "
        f"max {fmt_wait(r.latency_max_s)}"
    )


def _answer(n: int) -> str:
    return "1 answer" if n == 1 else f"{n} answers"


def _most_important(base: PolicyResult, variants: list[Variant]) -> str:
    """Rank the settings by how far their variants move the saving, then by how far they move the waits."""
    by_setting: dict[str, list[Variant]] = {}
    for v in variants:
        by_setting.setdefault(v.setting, []).append(v)

    def cost_swing(vs: list[Variant]) -> float:
        return max(abs(v.result.saving_pct - base.saving_pct) for v in vs)

    top_cost = max(by_setting, key=lambda s: cost_swing(by_setting[s]))
    best = max(by_setting[top_cost], key=lambda v: v.result.saving_pct)
    parts = [
        f"- Sleepwake: the {top_cost} is the setting that matters most. '{best.value}' takes the saving from "
        f"{base.saving_pct:.1f} % to {best.result.saving_pct:.1f} %, with "
        f"{plural(best.result.met_no_capacity, 'request')} meeting no capacity instead of {base.met_no_capacity} "
        f"(max wait {fmt_wait(best.result.wait_max_s)})."
    ]
    small = [
        f"{s} ({'/'.join(v.value for v in vs)}): {cost_swing(vs):.1f} points"
        for s, vs in by_setting.items()
        if s != top_cost
    ]
    if small:
        parts.append(" Saving moved by the others: " + "; ".join(small) + ".")
    fewest = min(variants, key=lambda v: (v.result.met_no_capacity, v.result.wait_max_s))
    if fewest.result.met_no_capacity < base.met_no_capacity:
        parts.append(
            f" For waits, {fewest.setting} = {fewest.value} helps most: {_meet(fewest.result.met_no_capacity)} "
            f"no capacity instead of {base.met_no_capacity} (max wait {fmt_wait(fewest.result.wait_max_s)})."
        )
    return "".join(parts)


def to_json(
    trace: Trace,
    settings: SimulationSettings,
    results: list[PolicyResult],
    variants: list[Variant],
    note: str,
    *,
    price_source: str,
) -> dict[str, Any]:
    prov = settings.prov

    def policy(r: PolicyResult, timeline: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": r.key,
            "label": r.label,
            "instance_hours": round(r.instance_hours, 3),
            "cost_usd": round(r.cost, 2),
            "saving_vs_always_on_pct": round(r.saving_pct, 2),
            "instance_cost_usd": round(r.instance_cost, 2),
            "fallback_cost_usd": round(r.fallback_cost, 4),
            "keep_warm_cost_usd": round(r.keep_warm_cost, 4),
            "control_plane_cost_usd": round(r.control_plane_cost, 4),
            "requests": r.requests,
            "failed": r.failed,
            "served_by_fallback": r.served_by_fallback,
            "latency_p50_s": round(r.latency_p50_s, 2),
            "latency_p95_s": round(r.latency_p95_s, 2),
            "latency_p99_s": round(r.latency_p99_s, 2),
            "latency_max_s": round(r.latency_max_s, 2),
            "slow_answers": r.slow_answers,
            "fallback_cold_starts": r.fallback_cold_starts,
            "met_no_capacity": r.met_no_capacity,
            "waited_over_long_wait": r.long_waits,
            "unserved": r.unserved,
            "wait_p50_s": round(r.wait_p50_s, 2),
            "wait_p95_s": round(r.wait_p95_s, 2),
            "wait_max_s": round(r.wait_max_s, 2),
            "wakes": r.wakes,
            "details": r.details,
        }
        if timeline:
            out["copies_timeline"] = [[t.isoformat(), c] for t, c in r.copy_changes]
        return out

    return {
        "trace": {
            "source": trace.source,
            "start": trace.start.isoformat(),
            "end": trace.end.isoformat(),
            "hours": trace.hours,
            "requests": len(trace.requests),
            "with_wake_intent": sum(r.wake_lead_seconds is not None for r in trace.requests),
        },
        "parameters": {
            "price_per_hour_usd": settings.price_per_hour,
            "price_source": price_source,
            "scale_up_seconds": str(prov.scale_up),
            "alarm_detection_seconds": str(prov.alarm_detection),
            "instance_release_seconds": prov.instance_release_seconds,
            "native_idle_minutes": prov.native_idle_minutes,
            "load_latencies_ms": list(prov.load_latencies_ms),
            "steady_latency_ms": prov.steady_latency_ms,
            "long_wait_minutes": settings.long_wait_minutes,
            "slow_seconds": settings.slow_seconds,
            "seed": settings.seed,
            "sleepwake": asdict(settings.sleepwake),
            "fallback": {**asdict(settings.fallback), "cold_start": str(settings.fallback.cold_start)},
            "keep_warm": {**asdict(settings.keep_warm), "mode": settings.keep_warm.mode.value},
        },
        "policies": [policy(r) for r in results],
        "sleepwake_settings": [{"setting": v.setting, "value": v.value, **policy(v.result, False)} for v in variants],
        "closing_note": note,
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
