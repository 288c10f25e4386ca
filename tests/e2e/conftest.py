"""End to end on the local stack: the real template, state machines, Lambda handlers and model handler,
with only AWS emulated (localaws). Emulated time runs at SPEED; provisioning is shortened so a wake takes
seconds, and the template's FirstPollAfterSeconds is overridden to match (both are template parameters)."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from localaws.local import LocalStack

PT = ZoneInfo("America/Los_Angeles")
NIGHT = datetime(2026, 11, 25, 0, 30, tzinfo=PT).astimezone(UTC)  # quiet hours, 30 min after the nightly sleep
SPEED = 20.0
PROVISIONING = 60.0
FAST = {"FirstPollAfterSeconds": "20", "FirstPollOnInstanceSeconds": "10", "PollIntervalSeconds": "5"}


@pytest.fixture
def local() -> Iterator[LocalStack]:
    with contextlib.redirect_stdout(io.StringIO()):  # the functions' JSON logs
        stack = LocalStack(
            start=NIGHT,
            speed=SPEED,
            port=0,
            api_port=0,
            provisioning_seconds=PROVISIONING,
            parameters=FAST,
            deployment_file=None,
        ).start()
    try:
        yield stack
    finally:
        stack.stop()


def sleep_now(local: LocalStack) -> dict[str, Any]:
    """The operator's forced sleep (`sleepwake sleep --force`), waited for."""
    sfn = local.emu.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=local.outputs["SleepStateMachineArn"],
        name=f"test-{time.time_ns()}",
        input=json.dumps({"trigger": "manual", "force": True}),
    )["executionArn"]
    result = local.emu.wait_for_execution(arn, timeout=1800)
    assert result["status"] == "SUCCEEDED", result
    return local.wait_for_state("asleep", timeout=600)


def scale_ups(local: LocalStack) -> int:
    """How many times the component's desired copy count went up (history kept by the emulator)."""
    history = local.emu.component(local.outputs["InferenceComponentName"]).history
    return sum(1 for before, after in itertools.pairwise(history) if after[2] > before[2])
