"""sleepwake.runtime: a Lambda container builds its control plane once; a host (the local stack) gives the layer
its clock and one container per function, through `host`, and takes them back with `unhost`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sleepwake import clock, runtime

MOMENT = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def lambda_environment(monkeypatch: pytest.MonkeyPatch):
    for key, value in {
        "IC_NAME": "ic",
        "ENDPOINT_NAME": "endpoint",
        "STATE_TABLE_NAME": "state",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    runtime.unhost()
    yield
    runtime.unhost()


def test_a_container_builds_its_control_plane_once_from_its_environment():
    first = runtime.plane()
    assert runtime.plane() is first
    assert first.settings.ic_name == "ic"
    runtime.reset()
    assert runtime.plane() is not first


def test_a_host_gives_each_function_its_own_container_and_its_clock(monkeypatch):
    containers = {name: runtime.Container() for name in ("wake", "sleep")}
    running = ["wake"]
    runtime.host(now=lambda: MOMENT, sleep=lambda _: None, containers=lambda: containers[running[0]])
    assert clock.now() == MOMENT
    wake_plane = runtime.plane()
    running[0] = "sleep"
    monkeypatch.setenv("IC_NAME", "other-ic")
    sleep_plane = runtime.plane()
    assert sleep_plane is not wake_plane and sleep_plane.settings.ic_name == "other-ic"
    assert containers["wake"].clients.keys() == containers["sleep"].clients.keys() != set()
    assert all(containers["wake"].clients[s] is not containers["sleep"].clients[s] for s in containers["wake"].clients)
    running[0] = "wake"
    assert runtime.plane() is wake_plane  # a warm container keeps what it built


def test_unhost_returns_to_the_wall_clock_and_forgets_the_hosts_containers():
    hosted = runtime.Container()
    runtime.host(now=lambda: MOMENT, sleep=lambda _: None, containers=lambda: hosted)
    runtime.plane()
    runtime.unhost()
    assert clock.now() != MOMENT
    assert runtime.plane() is not hosted.plane
