"""`make replay --check`: the goals a replay missed against the simulator (localaws/replay_compare.py)."""

from __future__ import annotations

from typing import Any

from localaws.replay_compare import compare, missed_goals, unfaithful

SIMULATED = {"saving_vs_always_on_pct": 61.7, "failed": 0, "slow_answers": 8}


def _replayed(**changes: Any) -> dict[str, Any]:
    return SIMULATED | changes


def test_a_replay_within_every_goal_misses_none():
    replayed = _replayed(saving_vs_always_on_pct=58.7, slow_answers=10)  # 3 points and 2 answers: the limits
    assert missed_goals(replayed, SIMULATED) == []
    assert compare(replayed, SIMULATED)["goals_met"] is True


def test_each_missed_goal_is_one_line_naming_both_sides():
    replayed = _replayed(saving_vs_always_on_pct=65.0, failed=1, slow_answers=5)
    missed = missed_goals(replayed, SIMULATED)
    assert len(missed) == 3
    saving, failed, slow = missed
    assert saving.startswith("saving:") and "65.0" in saving and "61.7" in saving and "+3.3 points" in saving
    assert failed == "failed: replayed 1 vs simulated 0 (goal: equal)"
    assert slow.startswith("slow answers:") and "-3" in slow
    assert compare(replayed, SIMULATED) == {"saving_points": 3.3, "failed": 1, "slow_answers": -3, "goals_met": False}


def test_only_the_goal_missed_is_reported():
    assert [line.split(":")[0] for line in missed_goals(_replayed(failed=2), SIMULATED)] == ["failed"]
    assert [line.split(":")[0] for line in missed_goals(_replayed(slow_answers=11), SIMULATED)] == ["slow answers"]
    assert [line.split(":")[0] for line in missed_goals(_replayed(saving_vs_always_on_pct=58.6), SIMULATED)] == [
        "saving"
    ]


def test_check_exits_1_with_a_line_per_missed_goal_and_0_when_all_are_met(tmp_path, monkeypatch, capsys):
    from localaws import replay_compare

    trace = tmp_path / "trace.csv"
    trace.write_text("timestamp\n2025-05-05T12:00:00Z\n")
    outcome: dict[str, Any] = {"replayed": _replayed(failed=1, slow_answers=9), "late": 0, "intents": 0}

    def fake_replay(_trace, out, **_options):  # the replay's document, without a stack
        replayed = outcome["replayed"] | {"served_by_fallback": 0, "requests": 1, "instance_hours": 1.0}
        simulated = SIMULATED | {"served_by_fallback": 0, "requests": 1, "instance_hours": 1.0}
        return {
            **replayed,
            "simulated": simulated,
            "differences": compare(replayed, simulated),
            "late_sends": {"max_s": 0.0, "p99_s": 0.0, "over_1_s": outcome["late"], "calls": 100},
            "failed_intents": outcome["intents"],
            "run": {"wall_seconds": 1.0},
        }

    monkeypatch.setattr(replay_compare, "replay", fake_replay)
    args = [str(trace), "--out", str(tmp_path), "--no-progress"]
    assert replay_compare.main(args) == 0  # without --check the figures are only shown
    assert replay_compare.main([*args, "--check"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["make replay: goal missed: failed: replayed 1 vs simulated 0 (goal: equal)"]
    outcome["replayed"] = _replayed()
    assert replay_compare.main([*args, "--check"]) == 0
    assert capsys.readouterr().err == ""
    outcome["intents"] = 1  # every goal met, but the replay did not play the trace: it fails too
    assert replay_compare.main([*args, "--check"]) == 1
    assert capsys.readouterr().err.startswith("make replay: goal missed: intents: 1 POST /wake got no 2xx")


def test_a_replay_that_fell_behind_its_trace_or_lost_intents_is_not_a_comparison():
    def document(late: int, intents: int = 0) -> dict[str, Any]:
        return {"late_sends": {"max_s": 9.0, "p99_s": 1.0, "over_1_s": late, "calls": 1000}, "failed_intents": intents}

    assert unfaithful(document(late=3)) == []  # a few requests queued behind a cold start leave late
    (late,) = unfaithful(document(late=11))
    assert late.startswith("late sends: 11 of 1000 calls") and "1.1 %" in late
    assert [line.split(":")[0] for line in unfaithful(document(late=0, intents=2))] == ["intents"]


def test_the_replayed_plans_are_read_from_each_plan_jobs_first_day():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from localaws.replay_compare import planned_days
    from sleepwake_cli.simulate.trace import Trace

    def run(function: str, result) -> SimpleNamespace:
        return SimpleNamespace(function_name=f"sleepwake-{function}", result=result)

    def plan(today: str, tomorrow: str, learned: bool) -> dict:
        return {"days": [{"day": today, "learned": learned}, {"day": tomorrow, "learned": learned}]}

    records = [
        run("PlanDayFunction", plan("2025-05-05", "2025-05-06", False)),
        run("PlanDayFunction", plan("2025-05-06", "2025-05-07", True)),
        run("WarmupFunction", {"latencies_ms": [1.0]}),
        run("PlanDayFunction", None),  # a run that failed
    ]
    window = Trace((), datetime(2025, 5, 5, 4, tzinfo=UTC), datetime(2025, 5, 7, 4, tzinfo=UTC), "two days")
    assert planned_days(records, window) == {"2025-05-05": False, "2025-05-06": True}
    before = run("PlanDayFunction", plan("2025-05-04", "2025-05-05", True))  # the day before the window
    assert planned_days([before, *records], window) == {"2025-05-05": False, "2025-05-06": True}


def test_history_weeks_come_off_the_front_of_the_trace_and_a_trace_too_short_is_refused(tmp_path, capsys):
    from localaws import replay_compare
    from localaws.replay_compare import split_history
    from sleepwake_cli.simulate.trace import load_csv

    trace = tmp_path / "week.csv"
    trace.write_text("timestamp\n2025-05-05T12:00:00Z\n2025-05-12T12:00:00Z\n")
    history, replayed = split_history(load_csv(trace), 1)
    assert len(history) == 1 and len(replayed.requests) == 1
    assert split_history(load_csv(trace), 0)[0] == ()
    assert replay_compare.main([str(trace), "--history-weeks", "2", "--no-progress", "--out", str(tmp_path)]) == 2
    assert "leave nothing to score" in capsys.readouterr().err
    assert not (tmp_path / "replay.json").exists()
