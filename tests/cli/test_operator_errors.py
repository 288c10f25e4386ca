"""The operator CLI explains what is missing instead of printing a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sleepwake.core import defaults
from sleepwake_cli.main import main


@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


def test_status_without_a_region_says_how_to_point_it_at_aws_or_the_local_stack(no_aws, capsys):
    assert main(["status"]) == 2
    err = capsys.readouterr().err
    assert "region" in err.lower()
    assert "AWS_DEFAULT_REGION (or AWS_REGION)" in err and "make local" in err
    assert "Traceback" not in err


def test_a_missing_deployment_file_is_named_with_how_to_make_it(no_aws, tmp_path, capsys):
    missing = tmp_path / "deployment.json"
    assert main(["status", "--deployment-file", str(missing)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "make local" in err


def test_a_deployment_file_that_is_not_json_is_a_clear_error(no_aws, tmp_path, capsys):
    broken = tmp_path / "deployment.json"
    broken.write_text("{not json")
    assert main(["status", "--deployment-file", str(broken)]) == 2
    err = capsys.readouterr().err
    assert str(broken) in err and "Traceback" not in err


def test_a_negative_keep_awake_is_refused_before_anything_is_called(no_aws, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["wake", "--keep-awake", "-5"])
    assert exit_.value.code == 2
    assert "keep-awake" in capsys.readouterr().err


@pytest.mark.parametrize("reason", ["", "x" * (defaults.REASON_MAX_LENGTH + 1)])
def test_a_reason_the_wake_api_would_refuse_is_refused_before_anything_is_called(no_aws, capsys, reason):
    with pytest.raises(SystemExit) as exit_:
        main(["wake", "--reason", reason])
    assert exit_.value.code == 2
    assert f"1-{defaults.REASON_MAX_LENGTH}" in capsys.readouterr().err


def test_help_lists_every_operator_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("simulate", "status", "wake", "sleep", "warmup", "fire-schedule"):
        assert command in out
    json.dumps(out)  # plain text


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on, held bound for the test: a connection is refused, and no other
    process (a worker's emulator binding port 0) can be given it meanwhile, as one released at once could."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_a_local_stack_that_is_not_running_is_said_at_once_without_retries(
    no_aws, tmp_path, capsys, monkeypatch, closed_port
):
    # At once: one probe connect (sleepwake_cli/deployment.py), no AWS call that botocore would retry with
    # back-off. Counted, not timed: a 2 s wall-time limit failed at load (8 s for what takes 0.2 s when quiet).
    import socket

    import urllib3.connection

    probes: list[object] = []
    calls: list[str] = []
    probe, connect = socket.create_connection, urllib3.connection.HTTPConnection._new_conn

    def counted_probe(address: object, *args: object, **kwargs: object) -> object:
        probes.append(address)
        return probe(address, *args, **kwargs)

    def counted_call(self: urllib3.connection.HTTPConnection) -> object:
        calls.append(f"{self.host}:{self.port}")
        return connect(self)

    monkeypatch.setattr(socket, "create_connection", counted_probe)
    monkeypatch.setattr(urllib3.connection.HTTPConnection, "_new_conn", counted_call)
    port = closed_port
    deployment = tmp_path / "deployment.json"
    local = {
        "endpoint_url": f"http://127.0.0.1:{port}",
        "region": "us-east-1",
        "clock_url": f"http://127.0.0.1:{port}/c",
    }
    deployment.write_text(json.dumps({"parameters": {}, "resources": {}, "local": local}))
    for argv in (["status", "--deployment-file", str(deployment)], ["wake"]):
        if argv == ["wake"]:  # exported AWS_ENDPOINT_URL, no deployment file: describe-stacks would retry
            monkeypatch.setenv("AWS_ENDPOINT_URL", local["endpoint_url"])
            monkeypatch.setattr("sleepwake_cli.command.LOCAL_DEPLOYMENT", tmp_path / "absent.json")
        probes.clear()
        assert main(argv) == 2
        assert probes == [("127.0.0.1", port)] and calls == [], (probes, calls)
        err = capsys.readouterr().err
        assert f"127.0.0.1:{port} cannot be reached" in err and "is `make local` running?" in err, err
        assert "Traceback" not in err


def test_a_local_stack_that_stops_during_a_command_is_named_not_a_connection_error(
    no_aws, capsys, monkeypatch, closed_port
):
    import argparse
    import time
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from botocore.exceptions import EndpointConnectionError

    from sleepwake_cli import command

    url = f"http://127.0.0.1:{closed_port}"
    stub = SimpleNamespace(clock=SimpleNamespace(now=lambda: datetime.now(UTC), sleep=time.sleep))
    monkeypatch.setattr(command, "_operator", lambda args: stub)

    def stopped(op: object) -> int:
        raise EndpointConnectionError(endpoint_url=url)

    assert command.guard(stopped)(argparse.Namespace(verbose=False, json=False)) == 2
    err = capsys.readouterr().err
    assert f"{url} cannot be reached" in err and "is `make local` running?" in err, err


@pytest.mark.parametrize(
    ("command", "own", "means"),
    [
        ("plan", "exit status of plan:", "--apply: the plan job failed"),
        ("report", "exit status of report:", "the chart could not be written"),
        ("status", "exit status of status, wake, sleep, warmup and fire-schedule:", "--wait timed out"),
    ],
)
def test_each_commands_help_ends_with_its_own_exit_codes(command, own, means, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    epilog = capsys.readouterr().out.split("exit status of")[-1]
    assert f"exit status of{epilog}".startswith(own) and means in " ".join(epilog.split())
