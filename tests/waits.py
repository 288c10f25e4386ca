"""Waiting in wall time for what the emulator does on its own threads while the test holds emulated time still
(no emulated time passes however long this takes): the limit only stops a hang, and a test worker sharing a
loaded machine may need long."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(predicate: Callable[[], bool], wall: float = 30.0, poll: float = 0.05) -> bool:
    """Whether `predicate` held within `wall` seconds of wall time, asked every `poll` seconds."""
    deadline = time.monotonic() + wall
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()
