"""`make local` as people run it: `python -m localaws.make_local` in its own process, its printed lines pasted into a
shell, its ports refused in one line before anything slow, and SIGINT/SIGTERM stopping it at any moment."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localaws.cfn_template import REPO_ROOT

PYTHONPATH = os.pathsep.join([str(REPO_ROOT / "layers" / "sleepwake"), str(REPO_ROOT / "client"), str(REPO_ROOT)])
STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  [a-z]+ +\S")


def clean_env() -> dict[str, str]:
    """No AWS_* variables: the printed lines must carry what they need. This checkout's code first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = PYTHONPATH
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Serve:
    """`python -m localaws.make_local` in a subprocess, its stdout collected line by line."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "localaws.make_local", *args, "--log", str(tmp / "local.log")],
            cwd=REPO_ROOT,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r}; output so far:\n" + "\n".join(self.lines))

    def stop(self, signum: int, timeout: float) -> tuple[int, str]:
        self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        assert self.proc.stderr
        return code, self.proc.stderr.read()


@pytest.fixture
def listening() -> Iterator[int]:
    """A port another program listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def run_serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localaws.make_local", *args],
        cwd=REPO_ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_busy_emulator_port_is_a_one_line_error_not_a_hang(listening, tmp_path):
    began = time.monotonic()
    done = run_serve("--port", str(listening), "--api-port", "0", "--log", str(tmp_path / "log"))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"make local: port {listening} is already in use by another program; choose another with --port (LOCAL_PORT)"
    )
    assert time.monotonic() - began < 30  # checked before moto is even imported, let alone the deploy


def test_a_busy_api_port_is_refused_before_the_deploy(listening, tmp_path):
    done = run_serve("--port", "0", "--api-port", str(listening), "--log", str(tmp_path / "log"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"make local: port {listening} is already in use by another program; choose another with --api-port (API_PORT)"
    ]
    assert not (tmp_path / "log").exists()  # nothing was started


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "5555", "--api-port", "5555"], "--port and --api-port are both 5555"),
        (["--port", "70000"], "70000 is out of range (0-65535"),
        (["--api-port", "-1"], "-1 is out of range (0-65535"),
        (["--port", "http"], "'http' is not a port number"),
    ],
)
def test_bad_ports_are_one_line_errors(args, message):
    done = run_serve(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr


@pytest.mark.parametrize(
    ("signum", "marker"),
    [
        (signal.SIGINT, "creating StateTable"),  # the deploy's first resources
        (signal.SIGTERM, "creating InferenceComponent"),  # waiting for the copy: provisioning, model load, warm-up
    ],
)
def test_a_stop_signal_during_the_deploy_stops_it_at_once(tmp_path, signum, marker):
    serve = Serve(tmp_path, "--port", "0", "--api-port", "0", "--deployment-file", str(tmp_path / "d.json"))
    log = tmp_path / "local.log"
    deadline = time.monotonic() + 180
    while not (log.exists() and marker in log.read_text()):
        assert time.monotonic() < deadline and serve.proc.poll() is None, f"no {marker!r} in the log"
        time.sleep(0.05)
    began = time.monotonic()
    code, stderr = serve.stop(signum, timeout=30)
    assert time.monotonic() - began < 30
    assert code == 128 + signum
    assert "Traceback" not in stderr
    assert f"interrupted ({signal.Signals(signum).name}) while starting; stopped." in stderr
    assert not any(line.startswith("sleepwake local stack is up") for line in serve.lines)


def test_the_printed_lines_work_pasted_and_what_happens_is_printed_in_emulated_time(tmp_path):
    deployment = tmp_path / "deployment.json"
    # The stand-in model: the lines are about the control plane (the real model's loads and warm-ups were two
    # thirds of this test's minute at load); the stop-signal tests above start it with the real one.
    serve = Serve(
        tmp_path,
        *("--port", "0", "--api-port", "0", "--speed", "20", "--stand-in-model"),
        *("--deployment-file", str(deployment)),
    )
    try:
        serve.wait_for_line(r"^what happens \(emulated time\):", timeout=300)
        commands = [line.strip() for line in serve.lines if line.startswith("  ") and " try" not in line]
        curl = [c for c in commands if c.startswith("curl ")]
        # The AWS CLI (.tools/aws, or one on PATH), or without one the same call in boto3 (sleepwake_cli.awscli).
        aws = [c for c in commands if re.match(r"^(\w+=\S+ )+(\S*aws --endpoint-url |\S*python\S* -c )", c)]
        cli = [c for c in commands if re.search(r"(^| )\S*sleepwake(_cli)? ", c) and " aws " not in c]
        assert len(curl) == 2 and len(aws) == 2 and len(cli) == 4, serve.lines
        product = [c for c in commands if "docs/examples/product.py" in c]
        assert len(product) == 1, serve.lines
        done = subprocess.run(
            ["bash", "-c", product[0]], cwd=REPO_ROOT, env=clean_env(), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0 and done.stdout.startswith("served by the component"), (done.stdout, done.stderr)
        assert '{"model": "stand-in"' in done.stdout, done.stdout  # --stand-in-model answered, not the real model

        for line in curl:
            done = subprocess.run(["bash", "-c", line], env=clean_env(), capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, (line, done.stderr)
            assert "state" in done.stdout, (line, done.stdout)
        serve.wait_for_line(r"Z  lease +kept awake until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", timeout=30)

        answers = []
        for line in aws:  # pasted as printed, into a shell with no AWS_* variables
            done = subprocess.run(["bash", "-c", line], env=clean_env(), capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, (line, done.stderr)
            answers.append(json.loads(done.stdout))
        assert answers[0]["RuntimeConfig"]["CurrentCopyCount"] == 1
        assert "executions" in answers[1]

        for line in (c for c in cli if " status " in c or " fire-schedule " in c):
            done = subprocess.run(
                ["bash", "-c", line], cwd=REPO_ROOT, env=clean_env(), capture_output=True, text=True, timeout=120
            )
            # The idle check declines the sleep (the awake lease from the curl wake): exit 3, skipped, and why.
            skipped = " fire-schedule idle " in line
            assert done.returncode == (3 if skipped else 0), (line, done.stdout, done.stderr)
        # fire-schedule invokes the idle check; the awake lease from the curl wake makes it skip.
        serve.wait_for_line(r"Z  sleep +\S+ (\(idle check\) )?skipped the sleep: awake lease", timeout=60)

        events = serve.lines[serve.lines.index("what happens (emulated time):") + 1 :]
        assert events and all(STAMPED.match(line) for line in events), events
    finally:
        code, stderr = serve.stop(signal.SIGINT, timeout=60)
    assert code == 0, stderr
    assert serve.lines[-1] == "stopped."
    assert "Traceback" not in stderr
