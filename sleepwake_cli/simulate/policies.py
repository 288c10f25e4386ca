"""Every policy replayed on one trace, and the savings against always-on."""

from __future__ import annotations

import numpy as np

from sleepwake_cli.simulate.base import Simulated, SimulationError, SimulationSettings, SleepwakeSettings
from sleepwake_cli.simulate.engine import PolicyResult
from sleepwake_cli.simulate.peers import AlwaysOn, HybridHistogram, NativeAutoscale, Oracle, ScheduledOnly
from sleepwake_cli.simulate.sleepwake_policies import Sleepwake, SleepwakeNaps, SleepwakePlanner
from sleepwake_cli.simulate.trace import Trace

__all__ = ["POLICIES", "SimulationError", "SimulationSettings", "SleepwakePlanner", "SleepwakeSettings", "simulate"]

POLICIES: tuple[type[Simulated], ...] = (
    AlwaysOn,
    ScheduledOnly,
    NativeAutoscale,
    Sleepwake,
    SleepwakeNaps,
    SleepwakePlanner,
    HybridHistogram,
    Oracle,
)


def simulate(trace: Trace, settings: SimulationSettings, keys: tuple[str, ...] | None = None) -> list[PolicyResult]:
    """Every policy on the same trace; savings are against always-on when it is among them."""
    results = []
    for index, cls in enumerate(POLICIES):
        if keys is not None and cls.key not in keys:
            continue
        rng = np.random.default_rng([settings.seed, index])
        results.append(cls(trace, settings, rng).run())
    base = next((r.cost for r in results if r.key == AlwaysOn.key), None)
    if base is None:
        base = trace.hours * settings.price_per_hour
    for result in results:
        result.saving_pct = 100 * (1 - result.cost / base) if base else 0.0
    return results
