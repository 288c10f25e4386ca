"""`sleepwake report --png FILE`: the report's window as one picture (matplotlib), drawn from the report's JSON
document alone, so a saved `--json` can be drawn again: when the component was awake (and the plan's applied
windows), the requests per hour on each path, and the latency tail of each path against the slow-answer line.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sleepwake.core import defaults
from sleepwake.core.report_waits import latency_note

COLOURS = {"component": "#2a9d8f", "fallback": "#7b2cbf", "no capacity": "#e63946", "planned": "#264653"}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def chart(report: dict[str, Any], path: Path, slow_seconds: float = defaults.SLOW_SECONDS) -> None:
    """Three panels: awake/asleep over the window with the plan's windows outlined, requests per hour by path
    (stacked: component, fallback; beside them the no-capacity answers), and p50/p99/max latency per path."""
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, (timeline, hourly, tail) = plt.subplots(
        3, 1, figsize=(13, 8.5), gridspec_kw={"height_ratios": [0.7, 1.6, 1.3]}
    )
    start, end = _at(report["start"]), _at(report["end"])
    timeline.axvspan(float(mdates.date2num(start)), float(mdates.date2num(end)), color="#9e9e9e", alpha=0.25, lw=0)
    for a, b in report.get("awake_periods", []):
        timeline.axvspan(float(mdates.date2num(_at(a))), float(mdates.date2num(_at(b))), color="#2a9d8f", alpha=0.6)
    for window in (report.get("plan") or {}).get("windows", []):
        a, b = float(mdates.date2num(_at(window["wake"]))), float(mdates.date2num(_at(window["sleep"])))
        timeline.add_patch(
            plt.Rectangle((a, 0.05), b - a, 0.9, fill=False, edgecolor=COLOURS["planned"], lw=1.5, ls="--")
        )
    timeline.set_yticks([])
    timeline.set_ylim(0, 1)
    timeline.set_title(
        f"awake {report['awake_hours']:.2f} h of {report['hours']:.2f} h (green; grey asleep; dashed: planned "
        f"windows) - saving {report['saving_vs_always_on_pct']:g} % vs always on",
        fontsize=10,
    )

    rows = report.get("requests_per_hour", [])
    hours = [float(mdates.date2num(_at(r[0]))) for r in rows]
    width = 1 / 24 * 0.9
    component = [r[1] for r in rows]
    fallback = [r[2] for r in rows]
    hourly.bar(hours, component, width=width, align="edge", color=COLOURS["component"], label="component")
    hourly.bar(hours, fallback, width=width, align="edge", bottom=component, color=COLOURS["fallback"],
               label="fallback")  # fmt: skip
    no_capacity = [r[3] for r in rows]  # each also counted on the fallback when the client took it there
    hourly.bar([h + width / 3 for h in hours], no_capacity, width=width / 3, align="edge", color=COLOURS["no capacity"],
               label="no capacity")  # fmt: skip
    hourly.set_ylabel("requests per hour")
    hourly.legend(loc="upper right", fontsize=8)
    for ax in (timeline, hourly):
        ax.set_xlim(float(mdates.date2num(start)), float(mdates.date2num(end)))
        locator = mdates.AutoDateLocator(minticks=4, maxticks=14)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    hourly.set_xlabel("UTC")

    paths = list(report.get("latency_ms", {}))
    for i, name in enumerate(paths):
        figures = report["latency_ms"][name]
        values = [figures.get(k) or 0.0 for k in ("p50", "p99", "max")]
        positions = [i * 4 + j for j in range(3)]
        tail.bar(positions, values, color=COLOURS.get(name, "#8d99ae"), alpha=0.8)
        for x, v, label in zip(positions, values, ("p50", "p99", "max"), strict=True):
            tail.annotate(f"{label}\n{v:g}", (x, v), ha="center", va="bottom", fontsize=8)
    tail.set_xticks([i * 4 + 1 for i in range(len(paths))])
    labels = []
    for p in paths:
        note = latency_note(p, report.get("requests", {}))
        labels.append(
            f"{p} ({report.get('slow_answers', {}).get(p, 0)} over {slow_seconds:g} s)" + (f"\n{note}" if note else "")
        )
    tail.set_xticklabels(labels)
    tail.axhline(slow_seconds * 1000, color=COLOURS["no capacity"], ls=":", lw=1)
    tail.set_ylabel("ModelLatency, ms")
    tail.set_yscale("symlog", linthresh=10)
    fig.suptitle(f"sleepwake report {report['start']} .. {report['end']}", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
