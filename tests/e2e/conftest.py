"""End to end on the local stack: the real template, state machines and Lambda handlers, with only AWS emulated
(localaws); the model is the real handler where a test reads its answers, a stand-in elsewhere. Emulated time
runs at SPEED; provisioning is shortened so a wake takes seconds, and the template's FirstPollAfterSeconds is
overridden to match (both are template parameters; tests/stacks.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from localaws.local_stack import LocalStack
from tests.stacks import FAST, NIGHT, PROVISIONING, PT, SPEED, as_deployed, local_stack

__all__ = ["FAST", "NIGHT", "PROVISIONING", "PT", "SPEED", "scale_ups", "sleep_now"]  # tests import these from here


@pytest.fixture(scope="module")
def deployed() -> Iterator[LocalStack]:
    """One stack per module at NIGHT whose copies and fallback are the stand-in model, kept as deployed
    (tests/stacks.py)."""
    with local_stack(jump=True, shared=True) as stack:
        yield stack


@pytest.fixture
def local(deployed: LocalStack) -> Iterator[LocalStack]:
    """The module's stand-in stack as a fresh deploy gives it (the previous test's changes, its clock too, put
    back: tests/stacks.py as_deployed). The clock jumps over idle time; the test is its driver (tests/stacks.py).
    These tests read whether a request got an answer and from whom, never the answer itself."""
    with as_deployed(deployed) as stack:
        yield stack


@pytest.fixture(scope="module")
def deployed_real_model() -> Iterator[LocalStack]:
    """One stack per module at NIGHT with the real model handler (copies and fallback), kept as deployed."""
    with local_stack(real_model=True, jump=True, shared=True) as stack:
        yield stack


@pytest.fixture
def local_real_model(deployed_real_model: LocalStack) -> Iterator[LocalStack]:
    """The module's real-model stack as a fresh deploy gives it, for a test that reads the model's answer."""
    with as_deployed(deployed_real_model) as stack:
        yield stack


def sleep_now(local: LocalStack) -> dict[str, Any]:
    """The operator's forced sleep (`sleepwake sleep --force`), waited for."""
    result = local.forced_sleep()
    assert result["status"] == "SUCCEEDED", result
    return local.wait_for_state("asleep", timeout=600)


def scale_ups(local: LocalStack) -> int:
    """How many times the component's desired copy count went up (history kept by the emulator)."""
    history = local.emu.component(local.outputs["InferenceComponentName"]).history
    return sum(1 for before, after in itertools.pairwise(history) if after[2] > before[2])
