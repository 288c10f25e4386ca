"""The alarm rounds on a jumping clock (localaws/cloudwatch_alarms.py): minutes that can change nothing are
skipped, yet an alarm goes to ALARM and back at the same round as when every minute is evaluated."""

from __future__ import annotations

from datetime import timedelta

from localaws import cloudwatch
from tests.conftest import any_occurrence_alarm

DIMS = {"InferenceComponentName": "ic"}


def _idle_then_a_failure(emu) -> tuple[list[dict], object]:
    """Three idle hours, then one failure; returns the alarm's state changes and when the failure came."""
    any_occurrence_alarm(emu.client("cloudwatch"), "fails", "Sleepwake", "Failures", DIMS)
    seen: list[dict] = []
    emu.on_alarm_state_change(seen.append)
    with emu.clock.held():  # this thread drives
        emu.clock.sleep(3 * 3600)
        failed_at = emu.clock.now()
        dims = [{"Name": k, "Value": v} for k, v in DIMS.items()]
        cloudwatch.record(emu.account, emu.region, "Sleepwake", "Failures", 1.0, dims, "Count")
        emu.clock.sleep(300)
    return seen, failed_at


def test_a_quiet_hour_costs_a_few_jumps_and_a_failure_still_alarms_at_the_next_minute(emu):
    emu.clock.set_speed(1)
    emu.clock.jump_when_idle()
    seen, failed_at = _idle_then_a_failure(emu)
    assert emu.clock.jumps < 40  # a round every minute would be 180 in the idle hours alone
    states = [(e["detail"]["state"]["value"], e["time"]) for e in seen]
    minute_over = (failed_at.replace(second=0, microsecond=0) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    after = (failed_at.replace(second=0, microsecond=0) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert states[-2:] == [("ALARM", minute_over), ("OK", after)]  # the minute with the failure, then without
