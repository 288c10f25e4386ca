"""scripts/make_trace.py's built-in-week profile: the CSV `make replay` reads is the week `sleepwake simulate`
scores without --trace, whatever its seed default is."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

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


def test_the_built_in_week_with_history_starts_with_the_simulators_own_history(tmp_path):
    """`--history-weeks 3`: the three weeks `sleepwake simulate` learns from before the built-in week, then the
    week; `make replay --history-weeks 3` and `sleepwake simulate --trace` split it back (Trace.split)."""
    out = tmp_path / "built-in-4-weeks.csv"
    assert _make_trace().main(["--profile", "built-in-week", "--history-weeks", "3", str(out)]) == 0
    week = SyntheticWeek(seed=SimulationSettings().seed)
    history, scored = load_csv(out).split(21)
    assert [int(at.timestamp()) for at in history] == [int(at.timestamp()) for at in week.earlier_weeks(3)]
    assert _seconds(scored.requests) == _seconds(week.build().requests)
    assert scored.start == week.build().start


def test_history_weeks_need_a_one_week_profile(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        _make_trace().main(["--profile", "two-weeks-holiday", "--history-weeks", "1", str(tmp_path / "x.csv")])
    assert exit_.value.code == 2
    assert "needs a one-week profile" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
