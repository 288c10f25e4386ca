"""scripts/make_trace.py's built-in-week profile: the CSV `make replay` reads is the week `sleepwake simulate`
scores without --trace, whatever its seed default is."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sleepwake_cli.simulate.base import SimulationSettings
from sleepwake_cli.simulate.trace import SyntheticWeek, load_csv

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_trace.py"


def _make_trace():  # the script is not a package module
    spec = importlib.util.spec_from_file_location("make_trace", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _seconds(requests) -> list[tuple[int, float | None]]:
    return [(int(r.at.timestamp()), r.wake_lead_seconds and round(r.wake_lead_seconds)) for r in requests]


def test_the_built_in_week_csv_is_the_simulators_own_week(tmp_path):
    out = tmp_path / "built-in-week.csv"
    assert _make_trace().main(["--profile", "built-in-week", str(out)]) == 0
    simulated = SyntheticWeek(seed=SimulationSettings().seed).build()  # what `sleepwake simulate` scores
    assert _seconds(load_csv(out).requests) == _seconds(simulated.requests)


def test_another_seed_gives_another_week(tmp_path):
    out = tmp_path / "other.csv"
    assert (
        _make_trace().main(["--profile", "built-in-week", "--seed", str(SimulationSettings().seed + 1), str(out)]) == 0
    )
    assert _seconds(load_csv(out).requests) != _seconds(SyntheticWeek(seed=SimulationSettings().seed).build().requests)
