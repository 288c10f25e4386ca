"""`sleepwake simulate --frontier`: sweep each learning policy's knobs and compare the saving-vs-waiting frontiers.

A policy's frontier at x slow answers is the best saving any of its settings reaches with at most x answers
slower than --slow-seconds (and, in the second view, with at most x % of requests on the fallback). Both the
planner and the hybrid histogram peer get the same fallback and the same keep-warm option, so the comparison
is fair: what differs is only when each keeps the instance.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path
from typing import Any

from sleepwake_cli.simulate.base import SimulationSettings
from sleepwake_cli.simulate.bounds import reactive_bound
from sleepwake_cli.simulate.engine import PolicyResult
from sleepwake_cli.simulate.policies import simulate
from sleepwake_cli.simulate.report import grid
from sleepwake_cli.simulate.trace import Trace

SLOW_COUNTS = range(0, 51)  # the goal: every slow-answer count from 0 to 50
FALLBACK_SHARES = tuple(x / 2 for x in range(0, 21))  # 0 %, 0.5 %, ... 10 % of requests on the fallback
GOAL_FALLBACK_PCT = 5.0

# The knobs swept, each around its default: the planner's rule (its threshold `likely`, or the price of a user
# meeting a nap, `miss_cost_minutes`), its nap minutes outside and inside planned windows, and how often the idle
# check runs (the template's IdleCheckSchedule; each check is priced); the hybrid peer's
# percentiles and fixed keep-alive.
PLANNER_LIKELY = (0.85, 0.99)
PLANNER_MISS_COST_MINUTES = (6.0, 12.0, 25.0)
# unplanned_idle_minutes; 2: the shortest that never naps inside a session (its clips come up to 75 s apart), which
# a 1-minute check needs; 60: few naps, few requests on the fallback
PLANNER_NAP_MINUTES = (1, 2, 5, 60)
PLANNER_PLANNED_IDLE = (5, 7, 10, 20, 60)
# The idle check is Lambda first (ControlPlanePrices): the schedule invokes the idle-check Lambda,
# which starts the sleep state machine only to sleep; cheap enough to run every minute, so naps come sooner.
PLANNER_CHECK_MINUTES = (1, 5, 15)
PLANNER_WAKE_OUTSIDE_WINDOWS = (True, False)  # False: the warm fallback alone answers outside the plan
HYBRID_HEAD_PCT = (1.0, 5.0, 10.0)
HYBRID_TAIL_PCT = (95.0, 99.0, 99.9)
HYBRID_KEEP_ALIVE = (5.0, 10.0, 20.0)

PLANNER, HYBRID = "sleepwake_planner", "hybrid_histogram"
NAMES = {PLANNER: "sleepwake planner", HYBRID: "hybrid histogram"}


@dataclass(frozen=True)
class Point:
    """One setting of one policy on the trace."""

    policy: str
    knobs: str
    saving_pct: float
    slow_answers: int
    fallback_pct: float
    failed: int
    keep_warm_cost: float

    @classmethod
    def of(cls, knobs: str, r: PolicyResult) -> Point:
        share = 100 * r.served_by_fallback / max(r.requests, 1)
        return cls(r.key, knobs, r.saving_pct, r.slow_answers, share, r.failed, r.keep_warm_cost)


def _planner_rules(settings: SimulationSettings) -> list[tuple[str, dict[str, Any]]]:
    likely = [(f"likely {v:g}", {"likely": v, "miss_cost_minutes": None}) for v in PLANNER_LIKELY]
    cost = [
        (f"miss cost {v:g} min", {"likely": settings.planner.likely, "miss_cost_minutes": v})
        for v in PLANNER_MISS_COST_MINUTES
    ]
    return likely + cost


def planner_settings(settings: SimulationSettings) -> Iterable[tuple[str, SimulationSettings]]:
    for (rule, knobs), nap, planned, check, outside in product(
        _planner_rules(settings),
        PLANNER_NAP_MINUTES,
        PLANNER_PLANNED_IDLE,
        PLANNER_CHECK_MINUTES,
        PLANNER_WAKE_OUTSIDE_WINDOWS,
    ):
        sw = replace(
            settings.sleepwake, unplanned_idle_minutes=nap, planned_idle_minutes=planned, idle_check_minutes=check
        )
        planner = replace(settings.planner, wake_outside_windows=outside, **knobs)
        yield (
            f"{rule}, nap {nap} min, in windows {planned} min, check every {check} min, "
            f"{'wakes' if outside else 'fallback only'} outside the plan",
            replace(settings, planner=planner, sleepwake=sw),
        )


def hybrid_settings(settings: SimulationSettings) -> Iterable[tuple[str, SimulationSettings]]:
    for head, tail, keep in product(HYBRID_HEAD_PCT, HYBRID_TAIL_PCT, HYBRID_KEEP_ALIVE):
        knobs = replace(settings.hybrid, head_pct=head, tail_pct=tail, fixed_keep_alive_minutes=keep)
        yield f"p{head:g}/p{tail:g}, keep-alive {keep:g} min", replace(settings, hybrid=knobs)


def sweep(trace: Trace, settings: SimulationSettings) -> dict[str, list[Point]]:
    """Every setting of each learning policy replayed on the trace."""
    grids = {PLANNER: planner_settings(settings), HYBRID: hybrid_settings(settings)}
    return {
        key: [Point.of(knobs, simulate(trace, case, keys=(key,))[0]) for knobs, case in grid]
        for key, grid in grids.items()
    }


def frontier(
    points: list[Point], limits: Iterable[float], attr: str, max_fallback_pct: float = 100.0
) -> list[tuple[float, float | None]]:
    """(limit, best saving among points whose `attr` is at most the limit, that fail nothing and send at most
    `max_fallback_pct` % of requests to the fallback)."""
    out: list[tuple[float, float | None]] = []
    for limit in limits:
        ok = [
            p.saving_pct
            for p in points
            if getattr(p, attr) <= limit and p.failed == 0 and p.fallback_pct <= max_fallback_pct
        ]
        out.append((limit, max(ok) if ok else None))
    return out


def _compare(ours: list[tuple[float, float | None]], theirs: list[tuple[float, float | None]], unit: str) -> str:
    """Where sleepwake's frontier is at or above the peer's, and where not, in words."""
    behind = [
        (x, (b or 0.0) - (a or 0.0))
        for (x, a), (_, b) in zip(ours, theirs, strict=True)
        if b is not None and (a is None or a < b)
    ]
    leads = [a - b for (_, a), (_, b) in zip(ours, theirs, strict=True) if a is not None and b is not None]
    first, last = ours[0][0], ours[-1][0]
    span = f"{first:g}-{last:g}{unit}"
    if not behind:
        gap = f" (by {min(leads):.1f}-{max(leads):.1f} points where both have a setting)" if leads else ""
        return f"sleepwake's planner is at or above the hybrid peer at every point {span}{gap}"
    where = ", ".join(f"{x:g}{unit} (-{gap:.1f})" for x, gap in behind[:6]) + (" ..." if len(behind) > 6 else "")
    return f"the hybrid peer is above sleepwake's planner at {len(behind)} of {len(ours)} points of {span}: {where}"


def nobody_waits(points: list[Point]) -> list[Point]:
    """The points with 0 failed requests and 0 answers over the slow line."""
    return [p for p in points if p.failed == 0 and p.slow_answers == 0]


def best_meeting_goals(points: list[Point]) -> Point | None:
    ok = [p for p in nobody_waits(points) if p.fallback_pct <= GOAL_FALLBACK_PCT]
    return max(ok, key=lambda p: p.saving_pct) if ok else None


Bound = list[tuple[float, float]]


def bound(trace: Trace, settings: SimulationSettings) -> Bound:
    """The reactive bound (simulate/bounds.py) at each fallback share of the frontier: what no schedule beats."""
    return reactive_bound(trace, settings, FALLBACK_SHARES, settings.sleepwake.wake_tz)


def note(points: dict[str, list[Point]], limit: Bound | None = None) -> str:
    ours, theirs = points[PLANNER], points[HYBRID]
    lines = [
        "- saving vs slow answers (0-50): "
        + _compare(frontier(ours, SLOW_COUNTS, "slow_answers"), frontier(theirs, SLOW_COUNTS, "slow_answers"), ""),
        f"- saving vs slow answers (0-50) with <= {GOAL_FALLBACK_PCT:g} % of requests on the fallback: "
        + _compare(
            frontier(ours, SLOW_COUNTS, "slow_answers", GOAL_FALLBACK_PCT),
            frontier(theirs, SLOW_COUNTS, "slow_answers", GOAL_FALLBACK_PCT),
            "",
        ),
        "- saving vs share of requests on the fallback (0-10 %): "
        + _compare(
            frontier(ours, FALLBACK_SHARES, "fallback_pct"), frontier(theirs, FALLBACK_SHARES, "fallback_pct"), " %"
        ),
    ]
    if limit:
        at_bar = dict(limit).get(GOAL_FALLBACK_PCT)
        best = best_meeting_goals(ours)
        if at_bar is not None:
            lines.append(
                f"- reactive bound (every idle gap's length known, each day's first user pre-woken, other users "
                f"woken for): {at_bar:.1f} % with <= {GOAL_FALLBACK_PCT:g} % on the fallback"
                + (f"; the planner's best there is {at_bar - best.saving_pct:.1f} points below" if best else "")
            )
    for key in (PLANNER, HYBRID):
        best = best_meeting_goals(points[key])
        if best is None:
            lines.append(f"- {NAMES[key]}: no setting meets 0 failed, 0 slow answers and <= 5 % on the fallback")
        else:
            lines.append(
                f"- {NAMES[key]}: best with 0 failed, 0 slow answers and <= 5 % on the fallback: "
                f"{best.saving_pct:.1f} % saved ({best.knobs}; {best.fallback_pct:.1f} % on the fallback)"
            )
    return "\n".join(lines)


def table(points: dict[str, list[Point]]) -> str:
    """The frontier at a few slow-answer counts and fallback shares, one row per policy."""
    counts, shares = (0, 5, 10, 20, 50), (1.0, 2.0, 3.0, 5.0, 10.0)
    head = ["policy", *(f"<= {c} slow" for c in counts), *(f"<= {s:g} % fb" for s in shares)]
    rows = []
    for key, pts in points.items():
        by_slow = dict(frontier(pts, counts, "slow_answers"))
        by_share = dict(frontier(pts, shares, "fallback_pct"))
        cells = [by_slow[c] for c in counts] + [by_share[s] for s in shares]
        rows.append([NAMES[key], *("-" if v is None else f"{v:.1f} %" for v in cells)])
    return grid(head, rows)


def to_json(
    trace: Trace, settings: SimulationSettings, points: dict[str, list[Point]], text: str, limit: Bound | None = None
) -> dict[str, Any]:
    return {
        "trace": {"source": trace.source, "requests": len(trace.requests)},
        "slow_seconds": settings.slow_seconds,
        "keep_warm": settings.keep_warm.mode.value,
        "policies": {
            key: {
                "points": [p.__dict__ for p in pts],
                "frontier_by_slow_answers": frontier(pts, SLOW_COUNTS, "slow_answers"),
                "frontier_by_fallback_pct": frontier(pts, FALLBACK_SHARES, "fallback_pct"),
            }
            for key, pts in points.items()
        },
        "reactive_bound_by_fallback_pct": limit or [],
        "note": text,
    }


def write(out: Path, payload: dict[str, Any]) -> Path:
    path = out / "frontier.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def chart(path: Path, trace: Trace, points: dict[str, list[Point]], limit: Bound | None = None) -> None:
    """Saving against slow answers and against the fallback share: every setting, and each policy's frontier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {PLANNER: "#3b7dd8", HYBRID: "#e67e22"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    for key, pts in points.items():
        c = colours[key]
        left.scatter([p.slow_answers for p in pts], [p.saving_pct for p in pts], color=c, alpha=0.35, s=14)
        fl = [(x, y) for x, y in frontier(pts, SLOW_COUNTS, "slow_answers") if y is not None]
        if fl:
            left.step([x for x, _ in fl], [y for _, y in fl], where="post", color=c, label=NAMES[key])
        right.scatter([p.fallback_pct for p in pts], [p.saving_pct for p in pts], color=c, alpha=0.35, s=14)
        fr = [(x, y) for x, y in frontier(pts, FALLBACK_SHARES, "fallback_pct") if y is not None]
        if fr:
            right.step([x for x, _ in fr], [y for _, y in fr], where="post", color=c, label=NAMES[key])
    if limit:
        right.step(
            [x for x, _ in limit],
            [y for _, y in limit],
            where="post",
            color="#7f8c8d",
            linestyle=":",
            label="reactive bound",
        )
    left.set_xlim(-1, 51)
    left.set_xlabel("answers slower than the slow-answer line")
    right.set_xlabel("requests answered by the fallback, %")
    right.axvline(GOAL_FALLBACK_PCT, color="#c0392b", linestyle="--", linewidth=1)
    for ax in (left, right):
        ax.set_ylabel("saving vs always on, %")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="lower right")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{trace.source}: saving frontier per learning policy (every setting swept)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
