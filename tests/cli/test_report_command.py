"""`sleepwake report`'s options and its table, without a stack (the figures: tests/unit/test_report.py; against
the local stack: tests/e2e/test_report.py)."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest

from sleepwake_cli.main import main
from sleepwake_cli.report import duration, table
from tests.unit.test_report import at, report


def test_since_takes_minutes_hours_days_and_weeks_up_to_90_days():
    assert duration("90m") == timedelta(minutes=90)
    assert duration("7d") == timedelta(days=7)
    assert duration("2w") == timedelta(weeks=2)
    for bad in ("7", "7 days", "100d", "0m"):
        with pytest.raises(argparse.ArgumentTypeError):
            duration(bad)


def test_a_bad_since_is_one_line_with_usage_status(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["report", "--since", "1y"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument --since: '1y' is not a duration" in err


def test_report_help_says_since_defaults_to_7_days(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    assert "(default 7d)" in " ".join(capsys.readouterr().out.split("--since DURATION")[-1].split()[:8])


def test_the_table_shows_every_figure():
    text = table(report(), price=1.0, slow_seconds=3)
    assert "awake / asleep           16.00 h / 8.00 h" in text
    assert "saving vs always-on      $6.95 (28.9 %)" in text
    assert "component 98, fallback 49, failed 3 (no capacity 5, of which unanswered 0; fallback cold starts 3" in text
    assert "latency component        p50 150 ms, p99 3500 ms, max 4000 ms; over 3 s: 10" in text
    assert "fallback cold starts 3); warm-ups left out: component 0, fallback 0" in text
    assert (
        "answers over 3 s         10, estimated from SageMaker's metrics (no product client timed its answers); "
        "fallback cold starts over 3 s: 0"
    ) in text


def test_the_reports_first_line_shows_its_window_to_the_second():
    """The window ends at the clock's now (microseconds in the JSON); the table's first line shows both ends
    as the start is shown, to the second."""
    from dataclasses import replace

    r = replace(report(), start="2026-12-07T17:45:00Z", end="2026-12-07T18:44:20.595110Z")
    first = table(r, price=1.0, slow_seconds=3).splitlines()[0]
    assert first.startswith("sleepwake report 2026-12-07T17:45:00Z .. 2026-12-07T18:44:20Z (")


def test_the_table_says_when_the_answers_over_3_s_are_what_the_product_client_timed():
    from sleepwake.core.report import build_report
    from tests.unit.test_report import A_DAY, COMPONENT, DAY, FALLBACK, PRICES

    def timed(count: float):
        return build_report(A_DAY, COMPONENT, FALLBACK, start=DAY, end=at(24), awake_now=True, prices=PRICES,
                            estimate_seconds=260, answer_stats={"timed": count, "within_slow_pct": 96.0})  # fmt: skip

    # Users' requests: 98 + 49 answered, 3 failed; the client timed all 150, 4 % of them over 3 s.
    text = table(timed(150.0), price=1.0, slow_seconds=3)
    assert "answers over 3 s         6, as the product client timed its 150 answers" in text
    # It timed 40 of them: the count is the larger of its 2 and SageMaker's estimate 10, and the table says so.
    assert (
        "answers over 3 s         10, partly timed: the product client timed 40 answers (26.7 % of users' requests); "
        "the larger of its count and SageMaker's estimate"
    ) in table(timed(40.0), price=1.0, slow_seconds=3)
    assert "wakes by api             1 started, 1 ready, 0 failed; time to ready p50 300 s" in text
    assert "sleeps                   idle 1, schedule 1; naps (idle check) 1" in text
    assert "2026-11-25T13:00:00Z wake wake-13.0: WakeFailed: timed out" in text


def test_the_table_shows_the_traffic_and_the_plan_when_read():
    from tests.unit.test_report_traffic import applied, slot
    from tests.unit.test_report_traffic import report as traffic_report

    text = table(traffic_report([slot(9.0, component=3)], [applied([(9, 12)])]), price=1.0, slow_seconds=3)
    assert "traffic                  hits 3 (found it awake), misses 0 (fallback 0, failed 0); awake hours" in text
    assert "plan                     1 day(s) learned, 0 on the crons: 3.00 h planned, 2.00 h of it unused; " in text
    assert "requests in its windows 3, outside 0" in text


def test_the_chart_draws_a_report_document_to_a_png(tmp_path):
    from sleepwake_cli.report_chart import chart
    from tests.unit.test_report_traffic import applied, slot
    from tests.unit.test_report_traffic import report as traffic_report

    document = traffic_report([slot(9.0, component=3), slot(13.0, no_capacity=1, fallback=1)], [applied([(9, 12)])])
    for name, drawn in (("traffic.png", document.as_dict()), ("plain.png", report().as_dict())):
        chart(drawn, tmp_path / "charts" / name)
        png = (tmp_path / "charts" / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_a_chart_that_cannot_be_written_is_one_line_after_the_figures(tmp_path, capsys, monkeypatch):
    """The figures are read first; a --png path that cannot be written ends with status 2 and one line."""
    import sleepwake_cli.report as command

    monkeypatch.setattr(command, "collect", lambda *a, **k: report())
    monkeypatch.setattr(command.clock, "now", lambda: at(24))
    blocked = tmp_path / "file"
    blocked.write_text("")
    args = argparse.Namespace(
        price=1.0, fallback_price_gb_second=0.0, fallback_memory_mb=2048, since=timedelta(days=1),
        png=blocked / "chart.png", json=False,
    )  # fmt: skip
    answers: list[dict] = []
    op = type("Op", (), {"args": args, "answer": lambda self, document, text: answers.append(document)})()
    with pytest.raises(command.Refused, match=r"could not write the chart to .*chart\.png"):
        command.cmd_report(op)
    assert answers == [report().as_dict()]  # the figures read are printed before the one-line error


@pytest.mark.parametrize(
    ("png", "why"),
    [
        ("chart.txt", "does not end in .png"),
        ("chart", "does not end in .png"),
        ("no-such-folder/chart.png", "does not exist"),
    ],
)
def test_a_png_path_that_cannot_be_a_chart_is_refused_before_anything_is_read(png, why, tmp_path, capsys, monkeypatch):
    import sleepwake_cli.report as command
    from sleepwake_cli.main import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(command, "collect", lambda *a, **k: pytest.fail("read the stack before checking --png"))
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--png", png])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) <= 2 and why in err[-1] and "Traceback" not in "".join(err)


def test_the_table_shows_the_waits_for_a_wake_when_measured():
    from sleepwake.core.report import PathMetrics, build_report
    from tests.unit.test_report import DAY, PRICES

    stats = {"TimeToReadySeconds:SampleCount": 2.0, "TimeToReadySeconds:p50": 214.0, "OverExpectedSeconds:p50": 4.0}
    r = build_report([], PathMetrics(), None, start=DAY, end=at(1), awake_now=True, prices=PRICES,
                     estimate_seconds=1, wait_stats=stats)  # fmt: skip
    text = table(r, price=1.0, slow_seconds=3)
    assert "waits for a wake         2 measured: ready p50 214 s, max -; expected p50 -, over it p50 4 s" in text


def test_the_table_says_the_latency_holds_the_pings_and_shows_users_fallback_answers_without_them():
    """SageMaker's ModelLatency cannot tell the control plane's requests from users' (no dimension does), so the
    table says how many are in it; users' answers from the fallback alone come from the product client's timing."""
    from dataclasses import replace

    from sleepwake.core.report import build_report
    from tests.unit.test_report import A_DAY, COMPONENT, DAY, FALLBACK, PRICES

    def with_answers(answers: dict) -> str:
        r = build_report(A_DAY, replace(COMPONENT, warmups=2), replace(FALLBACK, warmups=120), start=DAY, end=at(24),
                         awake_now=True, prices=PRICES, estimate_seconds=260, answer_stats=answers)  # fmt: skip
        return table(r, price=1.0, slow_seconds=3)

    text = with_answers({"timed": 40.0, "timed_fallback": 9.0, "fallback_p50": 0.41, "fallback_p99": 14.2,
                         "fallback_max": 16.03})  # fmt: skip
    assert (
        "latency component        p50 150 ms, p99 3500 ms, max 4000 ms; over 3 s: 10 (2 of the control plane's own "
        "requests included)"
    ) in text
    assert "; over 3 s: 0 (120 of the control plane's own requests included)" in text
    assert (
        "fallback, users' answers p50 0.41 s, p99 14.2 s, max 16.03 s: the 9 the product client timed, from its "
        "call (no pings)"
    ) in text
    assert "users' answers" not in with_answers({"timed": 40.0})  # the client timed none of the fallback's


def test_the_estimated_slow_answers_say_the_control_planes_own_cold_starts_are_in_them():
    from dataclasses import replace

    from sleepwake.core.report import build_report
    from tests.unit.test_report import A_DAY, COMPONENT, DAY, FALLBACK, PRICES

    fallback = replace(FALLBACK, cold_within_slow_pct=0.0, warmups=1, warmups_timed=1, warmups_within_slow_pct=0.0)
    r = build_report(A_DAY, COMPONENT, fallback, start=DAY, end=at(24), awake_now=True, prices=PRICES,
                     estimate_seconds=260)  # fmt: skip
    assert (
        "answers over 3 s         12 to 13, estimated from SageMaker's metrics (no product client timed its answers), "
        "up to 1 of them the control plane's own cold starts; fallback cold starts over 3 s: 3 (the control plane's "
        "own requests over 3 s: 1, no user's)"
    ) in table(r, price=1.0, slow_seconds=3)


def test_report_does_not_headline_the_control_planes_own_slow_request_as_a_users():
    """A fresh stack: the post-deploy warm-up met the fallback's cold start, no user sent anything. The estimate
    (SageMaker's, which cannot tell whose request it was) is 1; the headline says 0 to 1, never a bare 1, and the
    JSON keeps both counts."""
    from sleepwake.core.report import PathMetrics, build_report
    from tests.unit.test_report import A_DAY, DAY, PRICES

    fast = PathMetrics(invocations=10, latency_samples=10, within_slow_pct=100.0)
    fallback = PathMetrics(invocations=1, latency_samples=1, within_slow_pct=100.0, cold_starts=1,
                           cold_within_slow_pct=0.0, warmups=1, warmups_timed=1,
                           warmups_within_slow_pct=0.0)  # fmt: skip
    r = build_report(A_DAY, fast, fallback, start=DAY, end=at(24), awake_now=True, prices=PRICES, estimate_seconds=260)
    assert r.slow_answers["total"] == 1 and r.slow_answers["own_fallback"] == 1
    line = next(x for x in table(r, price=1.0, slow_seconds=3).splitlines() if "answers over 3 s" in x)
    assert line.startswith("  answers over 3 s         0 to 1, estimated from SageMaker's metrics")
    assert "(the control plane's own requests over 3 s: 1, no user's)" in line


def test_the_saving_puts_its_sign_before_the_dollar_and_never_says_minus_zero():
    from dataclasses import replace

    assert "saving vs always-on      $0.00 (-0.3 %)" in table(
        replace(report(), saving=-0.0, saving_vs_always_on_pct=-0.3), price=1.0, slow_seconds=3
    )
    assert "saving vs always-on      -$1.25 (-12 %)" in table(
        replace(report(), saving=-1.25, saving_vs_always_on_pct=-12.0), price=1.0, slow_seconds=3
    )
