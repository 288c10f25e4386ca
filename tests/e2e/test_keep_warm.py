"""The fallback stays warm where users may come, and goes cold (at no cost) where they do not, on the local
stack: two weeks of morning history (09:00-12:00 ET on weekdays), the plan job's keep-warm windows (about
08:00-13:00 ET: the hour around each request seen), the keep-warm schedule's pings, the emulator's serverless
endpoint evicting an idle container (localaws/sagemaker_serverless.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from localaws.demo import ET
from localaws.demo_planner import HISTORY_DAYS, office_hours, seed_history
from localaws.local_stack import SAMPLE
from tests.e2e.conftest import FAST, sleep_now
from tests.stacks import local_stack

# Wednesday 25 Nov 2026, 09:30 ET: inside the office hours the history shows.
START = datetime(2026, 11, 25, 9, 30, tzinfo=ET).astimezone(UTC)
SPEED = 20.0  # emulated seconds per wall second between jumps; model work pauses the emulated clock


def test_a_request_after_an_idle_hour_where_users_may_come_meets_a_warm_fallback_and_none_are_sent_at_night():
    # The clock jumps over idle time (the hours of pings and evictions cost no wall time) and runs slowly in
    # between, so a busy host's wall-clock stall (a Lambda waiting for a CPU) costs seconds, not the window.
    with local_stack(start=START, speed=SPEED, parameters=FAST | {"FallbackKeepWarm": "ping"}, jump=True) as local:
        with local.clock.paused():
            seed_history(local, (at for at in office_hours(HISTORY_DAYS, START) if at.astimezone(ET).hour < 12))
        local.emu.fire_schedule(local.outputs["PlanScheduleName"])
        assert local.emu.wait_for(lambda: local.status()["schedule"].startswith("learned"), timeout=600, poll=5)
        assert local.status()["fallback"]["users_may_come"] is True
        sleep_now(local)
        fallback = local.emu.serverless_endpoint(local.outputs["FallbackEndpointName"])

        # An idle hour in the window: nobody calls, the keep-warm pings keep the container.
        asleep_at = local.now()
        assert asleep_at < datetime(2026, 11, 25, 11, 30, tzinfo=ET)  # the idle hour ends inside the window
        local.clock.wait_until(asleep_at + timedelta(hours=1))
        pings = [at for at, _, _ in fallback.requests if at > asleep_at]
        assert len(pings) >= 60 / 5 - 2, pings  # one every FallbackPingMinutes (5)
        status = local.status()["fallback"]
        assert status["warm"] is True and datetime.fromisoformat(status["since"]) <= asleep_at + timedelta(minutes=5)
        before = len(fallback.requests)
        answer = local.product_client().invoke(SAMPLE.read_bytes())
        assert answer.served_by == "fallback"
        # The product's request (and the pre-warm of the wake it signalled): answered, none after a cold start.
        assert [(served, cold) for _, served, cold in fallback.requests[before:]][:1] == [(True, False)]
        # The only cold start of the hour was the sleep's pre-warm (the fallback had idled while the component
        # served): paid by the control plane at the start of the hour, not by a user.
        assert [c for c in fallback.cold_starts if c > asleep_at + timedelta(minutes=5)] == []

        # After the window (13:00 ET; the component naps after the wake the request started): no ping, and the
        # fallback goes cold; its only cost is the requests users send.
        local.clock.wait_until(datetime(2026, 11, 25, 13, 30, tzinfo=ET).astimezone(UTC))
        local.wait_for_state("asleep", timeout=2 * 3600, poll=60)
        quiet_from = local.now()
        local.clock.wait_until(quiet_from + timedelta(hours=2))
        assert [r for r in fallback.requests if r[0] > quiet_from] == []
        assert not fallback.is_warm(local.now(), local.emu.serverless.switches.idle_evict_seconds)
        status = local.status()["fallback"]
        assert status["users_may_come"] is False and status["warm"] is False
