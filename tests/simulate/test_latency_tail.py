"""The latency tail: answers slower than --slow-seconds and the fallback cold starts users met, everywhere the
simulator reports (issue 14: p95 hid 12 answers of 10-22 s in the built-in week)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleepwake_cli.main import main
from sleepwake_cli.simulate.trace import Request
from tests.simulate.test_fallback_and_oracle import COLD, FALLBACK_MS, run
from tests.simulate.test_policies_on_hand_made_traces import SCALE_UP, WARMUP, at, trace

TAIL_KEYS = ("latency_p99_s", "latency_max_s", "slow_answers", "fallback_cold_starts")


def test_a_cold_fallback_met_by_a_user_is_one_slow_answer_and_one_cold_start() -> None:
    # 02:00 LA, asleep: the first request waits for the fallback's 12 s cold start; the one 30 s later finds it
    # warm (2 s), so one slow answer out of two and one cold start met.
    result = run(trace(Request(at(2)), Request(at(2, seconds=30))), "sleepwake_naps")

    assert (result.slow_answers, result.fallback_cold_starts) == (1, 1)
    assert result.latency_max_s == pytest.approx(COLD + FALLBACK_MS / 1000)
    assert result.latency_p99_s == pytest.approx(COLD + FALLBACK_MS / 1000)


def test_a_fallback_prewarmed_by_an_intent_is_no_cold_start_met() -> None:
    result = run(trace(Request(at(2), wake_lead_seconds=60)), "sleepwake_naps")

    assert result.details["fallback"]["cold_starts"] == 1  # the pre-warm's, which nobody waited for
    assert (result.slow_answers, result.fallback_cold_starts) == (0, 0)
    assert result.latency_max_s == pytest.approx(FALLBACK_MS / 1000)


def test_a_wait_for_capacity_is_a_slow_answer_without_a_fallback() -> None:
    result = run(trace(Request(at(2))), "sleepwake")

    assert (result.slow_answers, result.fallback_cold_starts) == (1, 0)
    assert result.latency_max_s > SCALE_UP + WARMUP


def test_the_tail_is_in_the_table_the_json_and_the_note_for_every_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("timestamp\n2025-05-06T09:00:00Z\n2025-05-06T09:00:30Z\n")
    args = [
        "simulate",
        "--trace",
        str(csv),
        "--out",
        str(tmp_path),
        "--no-chart",
        "--no-variants",
        "--keep-warm",
        "none",
    ]

    assert main([*args, "--fallback-cold-start", "12"]) == 0
    stdout = capsys.readouterr().out
    assert "lat p99" in stdout and "> 3 s" in stdout and "fb cold" in stdout
    report = json.loads((tmp_path / "simulate.json").read_text())
    assert report["parameters"]["slow_seconds"] == 3.0
    for policy in report["policies"]:
        assert all(key in policy for key in TAIL_KEYS), policy["key"]
    naps = next(p for p in report["policies"] if p["key"] == "sleepwake_naps")
    assert (naps["slow_answers"], naps["fallback_cold_starts"], naps["latency_max_s"]) == (1, 1, 14.0)
    assert "1 answer over 3 s (1 fallback cold start met)" in report["closing_note"]

    # A slow-answer line above the cold answer counts nothing slow; the cold start is still counted as met.
    assert main([*args, "--fallback-cold-start", "12", "--slow-seconds", "20"]) == 0
    naps = next(
        p for p in json.loads((tmp_path / "simulate.json").read_text())["policies"] if p["key"] == "sleepwake_naps"
    )
    assert (naps["slow_answers"], naps["fallback_cold_starts"]) == (0, 1)


def test_slow_seconds_must_be_above_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--slow-seconds", "0", "--out", str(tmp_path), "--no-chart"])
    assert exit_.value.code == 2
    assert "argument --slow-seconds: must be a number above 0, got '0'" in capsys.readouterr().err
