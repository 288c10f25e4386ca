"""What the operator CLI promises about its output, without a stack: exit statuses in --help, a progress bar
on a terminal, and one way of writing times (the API's) in its answers and in the logs."""

from __future__ import annotations

import io
import json
import logging
import re
from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter

from sleepwake import clock
from sleepwake.control.status import FallbackStatus, Status
from sleepwake.core import State, iso
from sleepwake.core.keep_warm import KeepWarmMode
from sleepwake.observability import logger
from sleepwake_cli.main import main
from sleepwake_cli.operator import Progress, status_json, status_text

MOMENT = datetime(2026, 11, 25, 8, 30, 5, 250000, tzinfo=UTC)


def test_help_documents_every_exit_status(capsys):
    for argv in (["--help"], ["wake", "--help"], ["sleep", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        assert "exit status" in out
        for code, meaning in (("0", "done"), ("1", "failed"), ("3", "skipped"), ("4", "timed out"), ("130", "Ctrl-C")):
            assert f"\n  {code} " in out and meaning in out


def test_warmup_help_states_that_a_sleeping_component_gets_no_request(capsys):
    with pytest.raises(SystemExit):
        main(["warmup", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "sends nothing" in out and "no-capacity alarm" in out and "sleepwake wake --wait" in out


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _status(state: State, current: int, eta: int) -> Status:
    return Status(
        state=state,
        desired_copies=1,
        current_copies=current,
        since=MOMENT,
        eta_seconds=eta,
        last_error=None,
        lease_until=None,
        execution=None,
    )


def test_wait_progress_on_a_terminal_is_a_bar_with_state_copies_eta_and_elapsed():
    screen = Terminal()
    progress = Progress("wake", stream=screen)
    progress.show(_status(State.WAKING, 0, 200), 40.0, MOMENT)
    progress.close()
    drawn = screen.getvalue()
    assert "wake: waking" in drawn and "0/1 copies" in drawn and "ETA ~200s" in drawn and "40s elapsed" in drawn
    assert re.search(r"\|[#█▏▎▍▌▋▊▉0-9]+ +\|", drawn), drawn  # tqdm's bar, a fifth of the way


def test_wait_progress_off_a_terminal_is_one_plain_line_per_change():
    log = io.StringIO()
    progress = Progress("wake", stream=log)
    for state, current, eta, elapsed in ((State.WAKING, 0, 200, 0), (State.WAKING, 0, 190, 1), (State.READY, 1, 0, 9)):
        progress.show(_status(state, current, eta), elapsed, MOMENT)
    lines = log.getvalue().splitlines()
    assert lines == [
        "2026-11-25T08:30:05Z  wake: waking, 0/1 copies, ETA ~200s, 0s elapsed",
        "2026-11-25T08:30:05Z  wake: ready, 1/1 copies, 9s elapsed",
    ]


def test_times_are_written_as_the_api_writes_them():
    api = TypeAdapter(datetime)
    for moment in (MOMENT, MOMENT.replace(microsecond=0)):
        assert iso(moment) == api.dump_python(moment, mode="json")
    status = _status(State.READY, 1, 0)
    assert status_json(status)["since"] == "2026-11-25T08:30:05.250000Z"
    assert "since 2026-11-25T08:30:05Z" in status_text(status)


def test_status_says_whether_the_fallback_is_warm_since_when_and_whether_users_may_come():
    fallback = FallbackStatus(
        endpoint="ep-fallback",
        window_minutes=60,
        invocations=12.0,
        warm=True,
        since=MOMENT,
        keep_warm=KeepWarmMode.PING,
        users_may_come=True,
    )
    status = _status(State.ASLEEP, 0, 0).model_copy(update={"fallback": fallback})
    assert (
        "fallback: ep-fallback, 12 request(s) in the last 60 min, warm since 2026-11-25T08:30:05Z; "
        "keep-warm ping: users may come now"
    ) in status_text(status)
    assert status_json(status)["fallback"]["warm"] is True


def test_log_lines_carry_the_time_of_the_control_planes_clock_as_iso_z():
    stream = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    saved = handler.setStream(stream)
    try:
        with clock.using(lambda: MOMENT, lambda _: None):
            logger.warning("a decision")
    finally:
        handler.setStream(saved)
    assert '"timestamp":"2026-11-25T08:30:05.250Z"' in stream.getvalue()


def test_an_error_under_json_is_still_one_json_document_and_a_line_on_stderr(tmp_path, capsys):
    missing = tmp_path / "deployment.json"
    assert main(["status", "--json", "--deployment-file", str(missing)]) == 2
    out, err = capsys.readouterr()
    answer = json.loads(out)
    assert answer["outcome"] == "error" and str(missing) in answer["message"]
    assert err.startswith("error: ") and "Traceback" not in err


def test_sleep_help_and_readme_name_the_window_a_manual_sleep_counts(capsys):
    # A manual sleep (no plan) skips on the requests in Policy.idle_minutes: NapIdleMinutes with a fallback,
    # IdleMinutes without (tests/unit/test_fallback_settings.py), warm-ups counted as requests.
    from pathlib import Path

    said = "requests, warm-ups included, in the last NapIdleMinutes (IdleMinutes without a fallback)"
    with pytest.raises(SystemExit):
        main(["sleep", "--help"])
    assert said in " ".join(capsys.readouterr().out.split())
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "requests, warm-ups included, in the last `NapIdleMinutes`, or `IdleMinutes` without a fallback" in readme


@pytest.mark.parametrize("what", ["wake", "sleep"])
def test_a_timed_out_wait_says_so_in_one_line_then_the_status_below(monkeypatch, what):
    # The status takes several lines (here its fallback); inside the sentence's parentheses it split them.
    from types import SimpleNamespace

    from sleepwake_cli import operator

    fallback = FallbackStatus(endpoint="ep-fallback", window_minutes=60, invocations=2.0, keep_warm=KeepWarmMode.NONE)
    status = _status(State.WAKING, 0, 84).model_copy(update={"fallback": fallback})
    monkeypatch.setattr(operator, "_wait", lambda *_: operator.Waited("timed_out", status, 21.0))
    said: list[str] = []
    op = SimpleNamespace(
        args=SimpleNamespace(timeout=20.0),
        answer=lambda data, text: said.append(text),
        follow_execution=lambda arn: f"aws stepfunctions describe-execution --execution-arn {arn}",
    )
    if what == "wake":
        code = operator._await_wake(op, {"state": "waking", "execution": "arn:wake"})
    else:
        code = operator._await_sleep(op, {"execution": "arn:sleep"})
    assert code == operator.TIMED_OUT
    first, *rest = said[0].splitlines()
    assert first.startswith("timed out after 21s waiting for") and "goes on in the background" in first
    assert first.count("(") == first.count(")") and "waking" not in first, first
    assert rest == ["  " + line.strip() for line in status_text(status).splitlines()]
