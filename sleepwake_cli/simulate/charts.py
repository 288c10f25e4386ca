"""The simulator's pictures: copies over the period, cost, the latency tail and the frontier (PNG, matplotlib)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sleepwake.core import defaults
from sleepwake_cli.simulate.engine import PolicyResult
from sleepwake_cli.simulate.report import plural
from sleepwake_cli.simulate.trace import Trace

CHART_TZ = "America/New_York"


def chart(path: Path, trace: Trace, results: list[PolicyResult], slow_seconds: float = defaults.SLOW_SECONDS) -> None:
    """Requests per hour, copies over the period per policy, cost bars and the latency tail per policy."""
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    zone = ZoneInfo(CHART_TZ)
    n = len(results)
    fig, axes = plt.subplots(
        n + 3,
        1,
        figsize=(13, 2.0 + 1.1 * n + 5.2),
        gridspec_kw={"height_ratios": [1.4] + [0.8] * n + [1.6, 1.6]},
    )
    time_axes = axes[: n + 1]
    for ax in time_axes[1:]:
        ax.sharex(time_axes[0])

    hours = int(trace.hours)
    counts = [0] * max(hours, 1)
    for request in trace.requests:
        counts[min(int((request.at - trace.start).total_seconds() // 3600), len(counts) - 1)] += 1
    edges = [(trace.start + timedelta(hours=h)).astimezone(zone) for h in range(len(counts))]
    axes[0].bar(edges, counts, width=1 / 24, align="edge", color="#7a8ca5")
    axes[0].set_ylabel("req/h")
    axes[0].set_title(f"{trace.source}: {plural(len(trace.requests), 'request')} (times in {CHART_TZ})", fontsize=10)

    for ax, r in zip(time_axes[1:], results, strict=True):
        xs = [t.astimezone(zone) for t, _ in r.copy_changes] + [trace.end.astimezone(zone)]
        ys = [c for _, c in r.copy_changes]
        ax.stairs(ys, xs, fill=True, color="#3b7dd8" if r.key.startswith("sleepwake") else "#9bb7e0")
        ax.set_ylim(0, 1.3)
        ax.set_yticks([0, 1])
        ax.set_ylabel("copies", fontsize=8)
        ax.text(
            0.005,
            0.93,
            f"{r.label}: {r.instance_hours:.0f} instance-h, {r.failed} failed, {r.served_by_fallback} by the fallback",
            transform=ax.transAxes,
            va="top",
            fontsize=8,
        )
    for ax in time_axes[:-1]:
        ax.tick_params(labelbottom=False)
    time_axes[-1].xaxis.set_major_locator(mdates.DayLocator(tz=zone))
    time_axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%a %d", tz=zone))
    time_axes[-1].set_xlim(trace.start.astimezone(zone), trace.end.astimezone(zone))

    bars = axes[-2]
    labels = [r.label for r in results]
    costs = [r.cost for r in results]
    bars.barh(labels, costs, color=["#3b7dd8" if r.key.startswith("sleepwake") else "#9bb7e0" for r in results])
    for i, r in enumerate(results):
        bars.text(r.cost, i, f" ${r.cost:.2f} ({r.saving_pct:.0f} % saved)", va="center", fontsize=8)
    bars.invert_yaxis()
    bars.set_xlabel("cost for the period (USD)")
    bars.set_xlim(0, max(costs, default=1) * 1.35 or 1)
    _tail(axes[-1], results, slow_seconds)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _tail(ax: Any, results: list[PolicyResult], slow_seconds: float) -> None:
    """Latency p50, p95, p99 and max per policy (log scale), the slow-answer line, and how many crossed it."""
    import numpy as np

    ys = np.arange(len(results))
    marks = (
        ("p50", "latency_p50_s", "#c9d6ea"),
        ("p95", "latency_p95_s", "#9bb7e0"),
        ("p99", "latency_p99_s", "#3b7dd8"),
        ("max", "latency_max_s", "#1b3f7a"),
    )
    for i, (name, attr, colour) in enumerate(marks):
        values = [max(getattr(r, attr), 0.05) for r in results]
        ax.barh(ys + (i - 1.5) * 0.2, values, height=0.2, color=colour, label=name)
    ax.axvline(slow_seconds, color="#c0392b", linestyle="--", linewidth=1)
    for y, r in zip(ys, results, strict=True):
        text = f" {r.slow_answers} over {slow_seconds:g} s"
        if r.fallback_cold_starts:
            text += f", {plural(r.fallback_cold_starts, 'fallback cold start')}"
        ax.text(max(r.latency_max_s, 0.05), y, text, va="center", fontsize=7)
    ax.set_yticks(ys, [r.label for r in results], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(0.05, max((r.latency_max_s for r in results), default=1.0) * 30)  # room for the counts
    ax.set_xlabel(f"answer latency, s (log; dashed: the {slow_seconds:g} s slow-answer line)")
    ax.legend(fontsize=7, loc="lower right", ncol=4)
