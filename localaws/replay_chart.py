"""`make replay`'s picture: the replayed stack's and the simulator's timelines over the trace, one above the other
(awake or asleep, requests per hour, which path answered, slow answers), matplotlib PNG."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from localaws.replay import Sent
from sleepwake.core.report import Report
from sleepwake_cli.simulate.charts import CHART_TZ
from sleepwake_cli.simulate.engine import Outcome, PolicyResult
from sleepwake_cli.simulate.trace import Trace


def _awake_from_history(history: list[tuple[datetime, str, int, int]], trace: Trace) -> list[tuple[datetime, int]]:
    """(time, copies serving) steps from the emulator's copy-count history, inside the trace's window."""
    steps = [(trace.start, 0)]
    for at, _status, _desired, current in history:
        steps.append((max(at, trace.start), 1 if current >= 1 else 0))
    return [(t, c) for t, c in steps if t < trace.end]


def chart(
    path: Path,
    trace: Trace,
    report: Report,
    sent: list[Sent],
    history: list[tuple[datetime, str, int, int]],
    simulated: PolicyResult,
    outcomes: list[Outcome],
    slow_seconds: float,
) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    zone = ZoneInfo(CHART_TZ)
    fig, axes = plt.subplots(3, 1, figsize=(13, 6.5), sharex=True, gridspec_kw={"height_ratios": [1.4, 1, 1]})
    hours = max(int(trace.hours), 1)
    counts = [0] * hours
    for request in trace.requests:
        counts[min(int((request.at - trace.start).total_seconds() // 3600), hours - 1)] += 1
    edges = [(trace.start + timedelta(hours=h)).astimezone(zone) for h in range(hours)]
    axes[0].bar(edges, counts, width=1 / 24, align="edge", color="#7a8ca5")
    axes[0].set_ylabel("req/h")
    axes[0].set_title(f"{trace.source}: {len(trace.requests)} requests (times in {CHART_TZ})", fontsize=10)

    replay_slow = [s.sent for s in sent if s.ok and s.latency_s > slow_seconds]
    replay_fallback = [s.sent for s in sent if s.path == "fallback"]
    sim_slow = [o.arrival for o in outcomes if o.latency_seconds(trace.end + timedelta(days=3)) > slow_seconds]
    sim_fallback = [o.arrival for o in outcomes if o.by_fallback]
    rows = (
        (
            axes[1],
            _awake_from_history(history, trace),
            replay_fallback,
            replay_slow,
            f"replayed: {report.instance_hours:.1f} instance-h, saving {report.saving_vs_always_on_pct:g} %",
        ),
        (
            axes[2],
            [(t, c) for t, c in simulated.copy_changes if t < trace.end],
            sim_fallback,
            sim_slow,
            f"simulated ({simulated.key}): {simulated.instance_hours:.1f} instance-h, saving "
            f"{simulated.saving_pct:.1f} %",
        ),
    )
    for ax, steps, fallback, slow, label in rows:
        xs = [t.astimezone(zone) for t, _ in steps] + [trace.end.astimezone(zone)]
        ax.stairs([min(c, 1) for _, c in steps], xs, fill=True, color="#3b7dd8", label="awake (a copy serves)")
        for moments, height, marker, color, size, what in (
            (fallback, 0.15, "|", "#e08a1e", 6, "answered by the fallback"),
            (slow, 1.15, "v", "#c0392b", 5, f"slower than {slow_seconds:g} s"),
        ):
            at = [t.astimezone(zone) for t in moments]
            ax.plot(at, [height] * len(at), marker, color=color, ms=size, label=f"{what} ({len(at)})")
        ax.set_ylim(0, 1.35)
        ax.set_yticks([0, 1], ["asleep", "awake"])
        ax.text(0.005, 0.97, label, transform=ax.transAxes, va="top", fontsize=8)
        ax.legend(loc="upper right", fontsize=7, ncol=3)
    axes[-1].xaxis.set_major_formatter(mdates.DateFormatter("%a %H:%M", tz=zone))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
