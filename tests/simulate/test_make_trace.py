"""scripts/make_trace.py: the built-in-week profile's CSV (`make replay` reads it) is the week `sleepwake simulate`
scores without --trace, whatever its seed default is; --announced-share and --intent-lead change what the product's
/wake does on the same arrivals."""

from __future__ import annotations

import pytest

from scripts import make_trace
from sleepwake_cli.simulate.base import SimulationSettings
from sleepwake_cli.simulate.trace import SyntheticWeek, load_csv


def _seconds(requests) -> list[tuple[int, float | None]]:
    return [(int(r.at.timestamp()), r.wake_lead_seconds and round(r.wake_lead_seconds)) for r in requests]


def test_the_built_in_week_csv_is_the_simulators_own_week(tmp_path):
    out = tmp_path / "built-in-week.csv"
    assert make_trace.main(["--profile", "built-in-week", str(out)]) == 0
    simulated = SyntheticWeek(seed=SimulationSettings().seed).build()  # what `sleepwake simulate` scores
    assert _seconds(load_csv(out).requests) == _seconds(simulated.requests)


def test_another_seed_gives_another_week(tmp_path):
    out = tmp_path / "other.csv"
    assert make_trace.main(["--profile", "built-in-week", "--seed", str(SimulationSettings().seed + 1), str(out)]) == 0
    assert _seconds(load_csv(out).requests) != _seconds(SyntheticWeek(seed=SimulationSettings().seed).build().requests)


def test_the_built_in_week_with_history_starts_with_the_simulators_own_history(tmp_path):
    """`--history-weeks 3`: the three weeks `sleepwake simulate` learns from before the built-in week, then the
    week; `make replay --history-weeks 3` and `sleepwake simulate --trace` split it back (Trace.split)."""
    out = tmp_path / "built-in-4-weeks.csv"
    assert make_trace.main(["--profile", "built-in-week", "--history-weeks", "3", str(out)]) == 0
    week = SyntheticWeek(seed=SimulationSettings().seed)
    history, scored = load_csv(out).split(21)
    assert [int(at.timestamp()) for at in history] == [int(at.timestamp()) for at in week.earlier_weeks(3)]
    assert _seconds(scored.requests) == _seconds(week.build().requests)
    assert scored.start == week.build().start


def test_history_weeks_need_a_one_week_profile(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        make_trace.main(["--profile", "two-weeks-holiday", "--history-weeks", "1", str(tmp_path / "x.csv")])
    assert exit_.value.code == 2
    assert "needs a one-week profile" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_a_folder_for_the_csv_is_one_line_saying_to_name_a_file(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        make_trace.main(["--profile", "built-in-week", str(tmp_path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot write {tmp_path}" in err and str(tmp_path / "trace.csv") in err, err


def _intents(requests) -> dict[int, float]:
    return {int(r.at.timestamp()): r.wake_lead_seconds for r in requests if r.wake_lead_seconds is not None}


def test_announcing_more_sessions_keeps_the_same_users_and_their_own_intents(tmp_path):
    """--announced-share: what announcing more (or fewer) sessions is worth, on the very same arrivals. The sessions
    the profile announces are announced first, each with its own lead."""
    made = {}
    for share in ("0", "0.6", "0.9", "1"):
        out = tmp_path / f"{share}.csv"
        assert make_trace.main(["--profile", "built-in-week", "--announced-share", share, str(out)]) == 0
        made[share] = load_csv(out).requests
    as_made = SyntheticWeek(seed=SimulationSettings().seed).build().requests
    for requests in made.values():
        assert [int(r.at.timestamp()) for r in requests] == [int(r.at.timestamp()) for r in as_made]
    assert _seconds(made["0.6"]) == _seconds(as_made)  # the profile's own share: the profile's trace
    assert _intents(made["0"]) == {}
    fewer, more, every = _intents(made["0.6"]), _intents(made["0.9"]), _intents(made["1"])
    assert fewer.items() <= more.items() <= every.items()
    assert len(more) / len(every) == pytest.approx(0.9, abs=0.05)  # a share of the sessions


def test_an_intent_lead_moves_every_intent_and_no_request(tmp_path):
    """--intent-lead: every /wake that many minutes before its request, as the simulator's intent-lead variants."""
    out = tmp_path / "led.csv"
    assert make_trace.main(["--profile", "built-in-week", "--intent-lead", "5", str(out)]) == 0
    led = load_csv(out).requests
    as_made = SyntheticWeek(seed=SimulationSettings().seed).build().requests
    assert [int(r.at.timestamp()) for r in led] == [int(r.at.timestamp()) for r in as_made]
    assert _intents(led) == dict.fromkeys(_intents(as_made), 300.0)


@pytest.mark.parametrize(
    ("flag", "value", "why"),
    [
        ("--announced-share", "1.5", "must be a number between 0 and 1"),
        ("--announced-share", "most", "is not a number"),
        ("--intent-lead", "-1", "must be a number 0 or more"),
        ("--intent-lead", "nan", "must be a number 0 or more"),
    ],
)
def test_a_share_or_lead_out_of_range_is_refused_in_one_line(tmp_path, capsys, flag, value, why):
    with pytest.raises(SystemExit) as exit_:
        make_trace.main(["--profile", "built-in-week", flag, value, str(tmp_path / "x.csv")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert why in err and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()
