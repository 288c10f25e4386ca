"""scripts/simulate_goals.py's checks: the sweep it chooses from is written where a reader can check the choice
(--out), and a setting chosen in an earlier run replays on every trace without sweeping again (--chosen)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scripts import simulate_goals as goals
from sleepwake_cli.simulate import frontier


@pytest.fixture
def small_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two planner settings and one hybrid setting: the sweep is the one the script runs, only shorter."""
    monkeypatch.setattr(frontier, "PLANNER_LIKELY", (0.99,))
    monkeypatch.setattr(frontier, "PLANNER_MISS_COST_MINUTES", ())
    monkeypatch.setattr(frontier, "PLANNER_NAP_MINUTES", (5,))
    monkeypatch.setattr(frontier, "PLANNER_PLANNED_IDLE", (10,))
    monkeypatch.setattr(frontier, "PLANNER_CHECK_MINUTES", (1, 15))
    monkeypatch.setattr(frontier, "PLANNER_WAKE_OUTSIDE_WINDOWS", (True,))
    monkeypatch.setattr(frontier, "HYBRID_HEAD_PCT", (5.0,))
    monkeypatch.setattr(frontier, "HYBRID_TAIL_PCT", (99.0,))
    monkeypatch.setattr(frontier, "HYBRID_KEEP_ALIVE", (10.0,))


def _per_trace(stdout: str) -> list[str]:
    """The lines after the sweep: each trace's figures."""
    return stdout[stdout.index("Chosen on the built-in week") :].splitlines()


@pytest.mark.usefixtures("small_sweep")
def test_the_chosen_setting_is_one_of_the_written_sweep_and_replays_to_the_same_figures_without_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert goals.main(["--out", str(tmp_path)]) == 0
    swept = capsys.readouterr().out

    written = json.loads((tmp_path / "seed-7" / "frontier.json").read_text())
    planner = written["policies"][frontier.PLANNER]["points"]
    assert len(planner) == 2 and len(written["policies"][frontier.HYBRID]["points"]) == 1
    chosen = re.search(r"Chosen on the built-in week: (.+) \(([\d.]+) % at ([\d.]+) %\)", swept)
    assert chosen, swept
    point = next(p for p in planner if p["knobs"] == chosen.group(1))
    assert f"{point['saving_pct']:.1f}" == chosen.group(2)
    assert not (tmp_path / "held-out").exists()  # swept only with --frontier-held-out

    assert goals.main(["--chosen", chosen.group(1)]) == 0
    replayed = capsys.readouterr().out

    assert "every setting swept" not in replayed
    assert _per_trace(replayed) == _per_trace(swept)
