"""Another process learns the emulated time from the emulator: GET /_localaws/clock."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime

from localaws import Emulator


def read(emu: Emulator) -> dict:
    with urllib.request.urlopen(emu.clock_url, timeout=10) as answer:
        return dict(json.loads(answer.read()))


def test_the_clock_route_answers_the_emulated_time_as_the_api_writes_times(emu):
    with emu.clock.paused():
        answer = read(emu)
        assert answer["now"].endswith("Z")
        assert datetime.fromisoformat(answer["now"]) == emu.clock.now()
        assert answer["paused"] is True


def test_the_clock_route_follows_a_jump_and_a_change_of_speed(emu):
    emu.clock.set_speed(7)
    with emu.clock.paused():
        later = emu.clock.advance(3600)
        answer = read(emu)
    assert datetime.fromisoformat(answer["now"]) == later
    assert answer["speed"] == 7
