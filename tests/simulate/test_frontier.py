"""`sleepwake simulate --frontier`: every setting swept, the best saving per slow-answer count and per fallback
share, and which policy is above where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleepwake_cli.main import main
from sleepwake_cli.simulate import frontier
from sleepwake_cli.simulate.frontier import HYBRID, PLANNER, Point


def point(policy: str, saving: float, slow: int, fallback: float, failed: int = 0) -> Point:
    return Point(policy, f"{saving}", saving, slow, fallback, failed, 0.0)


def test_the_frontier_is_the_best_saving_within_each_limit_and_ignores_settings_that_fail() -> None:
    points = [
        point(PLANNER, 60.0, 0, 2.0),
        point(PLANNER, 65.0, 3, 4.0),
        point(PLANNER, 80.0, 1, 1.0, failed=2),  # fails requests: never on the frontier
    ]

    assert frontier.frontier(points, range(5), "slow_answers") == [
        (0, 60.0),
        (1, 60.0),
        (2, 60.0),
        (3, 65.0),
        (4, 65.0),
    ]
    assert frontier.frontier(points, (1.0, 2.0, 5.0), "fallback_pct") == [(1.0, None), (2.0, 60.0), (5.0, 65.0)]


def test_the_note_says_where_the_peer_is_above_and_where_sleepwake_is() -> None:
    points = {
        PLANNER: [point(PLANNER, 66.0, 0, 3.0)],
        HYBRID: [point(HYBRID, 60.0, 0, 6.0), point(HYBRID, 70.0, 2, 20.0)],
    }

    text = frontier.note(points)

    assert "the hybrid peer is above sleepwake's planner at 49 of 51 points of 0-50: 2 (-4.0)" in text
    assert "saving vs share of requests on the fallback (0-10 %): sleepwake's planner is at or above" in text
    # Held to the 5 % bar, the peer's 70 % (20 % on the fallback) no longer counts.
    assert "with <= 5 % of requests on the fallback: sleepwake's planner is at or above the hybrid peer" in text
    assert "sleepwake planner: best with 0 failed, 0 slow answers and <= 5 % on the fallback: 66.0 % saved" in text
    assert "hybrid histogram: no setting meets" in text


def test_simulate_frontier_writes_the_sweep_and_its_chart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two settings per knob family keep the run short; the sweep itself is the one `--frontier` runs.
    monkeypatch.setattr(frontier, "PLANNER_LIKELY", (0.85,))
    monkeypatch.setattr(frontier, "PLANNER_MISS_COST_MINUTES", ())
    monkeypatch.setattr(frontier, "PLANNER_NAP_MINUTES", (5,))
    monkeypatch.setattr(frontier, "PLANNER_PLANNED_IDLE", (10, 20))
    monkeypatch.setattr(frontier, "PLANNER_CHECK_MINUTES", (15,))
    monkeypatch.setattr(frontier, "PLANNER_WAKE_OUTSIDE_WINDOWS", (True,))
    monkeypatch.setattr(frontier, "HYBRID_HEAD_PCT", (5.0,))
    monkeypatch.setattr(frontier, "HYBRID_TAIL_PCT", (99.0,))
    monkeypatch.setattr(frontier, "HYBRID_KEEP_ALIVE", (5.0, 10.0))
    csv = tmp_path / "t.csv"
    csv.write_text("timestamp\n2025-05-06T09:00:00Z\n2025-05-06T15:00:00Z\n2025-05-06T15:01:00Z\n")

    assert main(["simulate", "--trace", str(csv), "--out", str(tmp_path), "--no-variants", "--frontier"]) == 0

    stdout = capsys.readouterr().out
    assert "Saving frontier" in stdout and "<= 0 slow" in stdout
    report = json.loads((tmp_path / "frontier.json").read_text())
    assert set(report["policies"]) == {PLANNER, HYBRID}
    for policy in report["policies"].values():
        assert len(policy["points"]) == 2
        assert [x for x, _ in policy["frontier_by_slow_answers"]] == list(range(51))
    assert report["note"].startswith("- saving vs slow answers (0-50)")
    assert "- reactive bound (every idle gap's length known" in report["note"]
    assert [x for x, _ in report["reactive_bound_by_fallback_pct"]] == list(frontier.FALLBACK_SHARES)
    assert (tmp_path / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
