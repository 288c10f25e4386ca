"""`sleepwake simulate` on bad input: one line naming the option (or the file and line), exit status 2, no
traceback and no output files; an unknown option shows the simulate usage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleepwake_cli.main import main


def _simulate(tmp_path: Path, *args: str) -> int:
    return main(["simulate", "--out", str(tmp_path / "out"), "--no-chart", "--no-variants", *args])


def _refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run, expect the usage-error exit (2) and return the one line on stderr."""
    try:
        code = _simulate(tmp_path, *args)
    except SystemExit as exit_:  # argparse's way out
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("sleepwake simulate: error: ")
    assert not (tmp_path / "out" / "simulate.json").exists()
    return lines[0]


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--naive-tz", "Nowhere/Atlantis", "unknown time zone 'Nowhere/Atlantis'"),
        ("--sleep-tz", "Mars/Olympus_Mons", "unknown time zone"),
        ("--wake-tz", "", "unknown time zone ''"),
        ("--wake-tz", "../etc/passwd", "unknown time zone"),
        ("--price", "-0.2", "above 0"),
        ("--price", "nan", "above 0"),
        ("--price", "0", "above 0"),
        ("--price", "cheap", "not a number"),
        ("--intent-share", "1.5", "between 0 and 1"),
        ("--intent-share", "-0.1", "between 0 and 1"),
        ("--scale-up", "240-180", "LOW 240 is above HIGH 180"),
        ("--alarm-detection", "120-60", "LOW 120 is above HIGH 60"),
        ("--scale-up", "-5", "not SECONDS or LOW-HIGH"),
        ("--scale-up", "1-2-3", "not SECONDS or LOW-HIGH"),
        ("--scale-up", "inf", "finite"),
        ("--instance-release", "-600", "0 or more"),
        ("--native-idle-minutes", "-1", "above 0"),
        ("--native-idle-minutes", "0", "above 0"),
        ("--load-latencies-ms", "3000,,1000", "'' in '3000,,1000' is not a number"),
        ("--load-latencies-ms", "3000,-1", "above 0 ms"),
        ("--load-latencies-ms", "", "at least one latency"),
        ("--steady-latency-ms", "-500", "above 0"),
        ("--seed", "-1", "0 or more"),
        ("--seed", "1.5", "not a whole number"),
        ("--idle-minutes", "0", "1 or more"),
        ("--idle-check-minutes", "0", "1 or more"),
        ("--intent-lease-minutes", "-1", "between 0 and 720"),
        ("--intent-lease-minutes", "721", "between 0 and 720"),
        ("--wake-timeout", "59", "60 or more"),
        ("--long-wait-minutes", "-1", "0 or more"),
        ("--sleep-cron", "cron(0 25 * * ? *)", "out of range"),
        ("--wake-cron", "0 7 * * *", "not a cron(...) expression"),
        ("--sleep-cron", "cron(*/5 * * * ? *)", "minute and hour must be fixed"),
        ("--trace", "no-such-trace.csv", "no such file"),
        ("--bench", "no-such-bench.json", "no such file"),
    ],
)
def test_a_bad_option_value_is_one_line_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, says: str
) -> None:
    line = _refused(tmp_path, capsys, f"{option}={value}")
    assert f"argument {option}: " in line
    assert says in line


def test_a_folder_given_as_the_trace_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "argument --trace: " in _refused(tmp_path, capsys, "--trace", str(tmp_path))


def test_an_output_folder_that_is_a_file_is_refused_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    try:
        main(["simulate", "--out", str(blocker), "--no-chart", "--no-variants"])
    except SystemExit as exit_:
        assert exit_.code == 2
    assert "argument --out: " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ({"steady_ms": 100}, "latencies_ms must be a non-empty list"),
        ({"latencies_ms": "900,300"}, "latencies_ms must be a non-empty list"),
        ({"latencies_ms": [900, -1]}, "latencies_ms must be a non-empty list"),
        ({"latencies_ms": [900, 300], "steady_ms": "fast"}, "steady_ms must be milliseconds above 0"),
        ([900, 300], "expected a JSON object"),
        ("{not json", "not a readable JSON file"),
    ],
)
def test_a_bench_file_without_usable_latencies_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: object, says: str
) -> None:
    bench = tmp_path / "bench.json"
    bench.write_text(content if isinstance(content, str) else json.dumps(content))
    line = _refused(tmp_path, capsys, "--bench", str(bench))
    assert "argument --bench: " in line and says in line


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("ts,lead\n2025-05-06T08:00:00Z,\n", "bad.csv:1: the header must be 'timestamp'"),
        ("timestamp,lead\n2025-05-06T08:00:00Z,\n", "bad.csv:1: the header must be 'timestamp'"),
        ("timestamp\n2025-05-06T08:00:00Z\nyesterday at noon\n", "bad.csv:3: timestamp 'yesterday at noon' is neither"),
        ("timestamp\n\n# note\n2025-05-06T08:00:00Z\n2025-13-40T08:00:00Z\n", "bad.csv:5: timestamp"),
        ("2025-05-06T08:00:00Z,soon\n", "bad.csv:1: wake_lead_seconds 'soon' is not a number"),
        ("2025-05-06T08:00:00Z,-5\n", "bad.csv:1: wake_lead_seconds '-5' must be a non-negative number"),
        ("2025-05-06T08:00:00Z,30,extra\n", "bad.csv:1: 3 fields"),
        ("1e20\n", "bad.csv:1: timestamp '1e20' is out of range"),
        ("timestamp\n9999-12-30T23:00:00Z\n", "bad.csv:2: timestamp '9999-12-30T23:00:00Z' is out of range"),
        ("0001-01-10T12:00:00Z\n", "bad.csv:1: timestamp '0001-01-10T12:00:00Z' is out of range"),
        ("9999-12-31T23:00:00-05:00\n", "bad.csv:1: timestamp '9999-12-31T23:00:00-05:00' is out of range"),
        ("timestamp,wake_lead_seconds\n", "bad.csv: no requests"),
        ("2025-05-06T08:00:00Z\n2205-05-06T08:00:00Z\n", "from line 1 (2025-05-06) to line 2 (2205-05-06)"),
        ('"2025-05-06T08:00:00Z\n2025-05-06T09:00:00Z\n\n\n\n', "bad.csv:"),
    ],
)
def test_a_bad_trace_csv_names_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, says: str
) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(text)
    assert says in _refused(tmp_path, capsys, "--trace", str(csv))


def test_a_trace_that_is_not_text_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    assert "not a UTF-8 text file" in _refused(tmp_path, capsys, "--trace", str(csv))


def test_the_documented_header_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "ok.csv"
    csv.write_text("Timestamp , Wake_Lead_Seconds\n2025-05-06T08:00:00Z,\n")
    assert _simulate(tmp_path, "--trace", str(csv)) == 0
    assert "1 request (0 with a /wake intent)" in capsys.readouterr().out


def test_an_unknown_option_shows_the_simulate_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _simulate(tmp_path, "--idle-minuets", "60")
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("usage: sleepwake simulate ")
    assert "--idle-minutes IDLE_MINUTES" in err
    assert err.strip().endswith("sleepwake simulate: error: unrecognized arguments: --idle-minuets 60")


def test_no_chart_removes_the_chart_of_an_earlier_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("2025-05-06T08:00:00Z\n")
    out = tmp_path / "out"
    assert main(["simulate", "--trace", str(csv), "--out", str(out), "--no-variants"]) == 0
    assert (out / "simulate.png").exists()

    assert main(["simulate", "--trace", str(csv), "--out", str(out), "--no-variants", "--no-chart"]) == 0

    assert not (out / "simulate.png").exists()
    assert f"removed the earlier {out / 'simulate.png'}" in capsys.readouterr().out


def test_the_note_counts_one_request_and_one_wake_in_the_singular(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One night request: every policy but always-on meets it with no capacity and wakes once for it.
    csv = tmp_path / "t.csv"
    csv.write_text("2025-05-06T08:00:00Z\n")
    assert _simulate(tmp_path, "--trace", str(csv), "--sleep-cron", "cron(0 0 * * ? *)") == 0
    out = capsys.readouterr().out
    assert "1 request (0 with a /wake intent)" in out
    assert "1 of 1 request met no capacity" in out
    assert "1 requests" not in out and "1 wakes" not in out


def test_the_note_counts_several_in_the_plural(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("2025-05-06T08:00:00Z\n2025-05-06T08:01:00Z\n")
    assert _simulate(tmp_path, "--trace", str(csv)) == 0
    out = capsys.readouterr().out
    assert "2 requests (0 with a /wake intent)" in out
    assert "of 2 requests met no capacity" in out


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--fallback-memory-gb", "9", "--fallback-memory-gb"),
        ("--fallback-cold-start", "20-10", "LOW 20 is above HIGH 10"),
        ("--fallback-latency-ms", "0", "--fallback-latency-ms"),
        ("--nap-idle-minutes", "0", "--nap-idle-minutes"),
    ],
)
def test_fallback_options_out_of_range_are_one_line_errors(
    option: str, value: str, says: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert says in _refused(tmp_path, capsys, option, value)


@pytest.mark.parametrize(("ping", "noted"), [("20", True), ("5", False)])
def test_pings_slower_than_the_eviction_are_noted_and_still_simulated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ping: str, noted: bool
) -> None:
    assert _simulate(tmp_path, "--ping-minutes", ping) == 0
    captured = capsys.readouterr()
    note = f"sleepwake simulate: note: --ping-minutes {ping} is not below --fallback-idle-evict 600 s (10 min)"
    assert (note in captured.err) is noted
    assert (tmp_path / "out" / "simulate.json").exists()
