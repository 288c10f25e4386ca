"""`make replay` on a short trace: a morning's requests through the local stack (a nap, a request the fallback
answers while the component sleeps, the wake it signals), then the report and the simulator on it. The
report's figures must be what the driver's users saw, once the control plane's own requests are set apart.
The stack runs the template's defaults, so the fallback is kept warm (FallbackKeepWarm ping)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from localaws.replay_compare import FIGURES, missed_goals, replay
from sleepwake_cli.simulate.trace import Request, Trace

pytestmark = pytest.mark.e2e
START = datetime(2025, 5, 5, 12, tzinfo=UTC)  # 08:00 in New York: the morning wake (07:00) is over


def _morning() -> Trace:
    def at(minutes: float) -> datetime:
        return START + timedelta(minutes=minutes)

    requests = (
        Request(at(5)),
        Request(at(5.7)),
        Request(at(6.5)),  # awake since the deploy: the component answers
        Request(at(70)),  # idle since 12:07 -> napped: the fallback answers (kept warm) and signals a wake
        Request(at(80), wake_lead_seconds=60),  # the wake is ready by then
        Request(at(80.8)),
    )
    return Trace(requests, START, at(120), "e2e morning")


def test_a_replayed_morning_reports_what_its_users_saw_and_sits_beside_the_simulator(tmp_path):
    document = replay(_morning(), tmp_path, progress=False)

    on_disk = json.loads((tmp_path / "replay.json").read_text())
    assert set(FIGURES) | {"simulated_policy", "simulated"} <= set(on_disk)
    assert set(FIGURES) <= set(on_disk["simulated"])
    assert on_disk["simulated_policy"] == "sleepwake_planner"
    assert (tmp_path / "replay.png").stat().st_size > 0

    truth = document["driver"]
    assert truth["requests"] == 6 and truth["failed"] == 0
    # The nap handed the fallback a pre-warm and the keep-warm pings held it warm (no stored plan: users may come
    # all day), as a deployed stack's would: the user after the nap meets no cold start (with FallbackKeepWarm none
    # this answer took the emulator's 15 s cold start).
    assert truth["served_by_fallback"] == 1 and truth["slow_answers"] == 0
    report = document["report"]["requests"]
    own = document["control_plane_requests"]
    assert report["failed"] == truth["failed"]
    # The report leaves the control plane's warm-ups out (it says how many): then it equals what users saw.
    assert report["fallback_warmups"] == own["fallback_warmups"] > 1  # the nap's pre-warm and the pings
    assert report["served_by_fallback"] == truth["served_by_fallback"]
    assert report["served_by_component"] == truth["served_by_component"]
    assert report["component_warmups"] == own["component_warmups"] > 0
    # Its answers over 3 s are what the product client timed: none, the fallback's answer was warm.
    assert document["report"]["slow_answers"]["total"] == truth["slow_answers"]
    assert document["report"]["naps"] >= 1
    assert sum(w["ready"] for w in document["report"]["wakes"].values()) >= 1

    # The simulator on the same trace: the same users, the same answers.
    simulated = document["simulated"]
    assert simulated["requests"] == truth["requests"]
    assert simulated["failed"] == document["failed"]
    assert simulated["served_by_fallback"] == document["served_by_fallback"]
    # `make replay --check`'s goals: failed and slow answers hold on a morning too. The saving's 3 points are a
    # week's goal: here they are 4 minutes of two hours, less than the idle check's 15-minute phase the two sides
    # may differ by (docs/simulate.md), so the morning's instance time is held to that instead.
    missed = missed_goals({k: document[k] for k in FIGURES}, simulated)
    assert [line for line in missed if not line.startswith("saving:")] == []
    assert abs(document["instance_hours"] - simulated["instance_hours"]) <= 0.25

    # The driver kept the trace's times and the stack took every intent: the comparison is of this trace.
    assert document["failed_intents"] == 0
    assert document["late_sends"]["over_1_s"] == 0


REPLAYED_DAY = datetime(2025, 5, 13, 4, tzinfo=UTC)  # Tuesday 00:00 in New York


def test_a_replay_with_history_runs_the_learned_plan_on_both_sides(tmp_path):
    """Two weeks of office hours (`make local --seed-history`'s: ten weekdays, the planner wants seven days with
    requests) then a replayed Tuesday morning: the plan job learns the day from the seeded history, as the
    simulator's planner does from the same requests."""
    from localaws.demo_planner import office_hours

    history = tuple(Request(at) for at in sorted(office_hours(14, REPLAYED_DAY)))
    morning = tuple(Request(REPLAYED_DAY + timedelta(hours=h)) for h in (9.2, 9.21, 9.5))  # from 09:12 New York
    trace = Trace(history + morning, REPLAYED_DAY - timedelta(days=14), REPLAYED_DAY + timedelta(hours=10), "e2e")

    document = replay(trace, tmp_path, progress=False, history_weeks=2)

    assert document["history"]["requests"] == len(history)
    assert document["trace"]["requests"] == len(morning)  # only the day after the history is replayed
    assert document["history"]["replayed_plan_errors"] == []
    assert document["history"]["replayed_plans"] == {"2025-05-13": True}  # learned, not the crons
    assert document["history"]["replayed_learned_days"] == document["history"]["simulated_learned_days"] == 1
    assert document["requests"] == document["simulated"]["requests"] == len(morning)
    assert document["failed"] == document["simulated"]["failed"] == 0
    # Not compared on one morning: who answers 09:12 depends on where the idle check's 15-minute phase falls
    # around the window's start (rate counts from the deploy here, from the hour in the simulator).
