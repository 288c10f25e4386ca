"""With a fallback endpoint the idle check naps at any hour after NapIdleMinutes; without one nothing changes."""

from __future__ import annotations

from datetime import UTC, datetime

from sleepwake.core import ICStatus, ObservedCopies, State, StateRecord, decide_sleep
from sleepwake.settings import Settings

BASE = {"IC_NAME": "ic", "ENDPOINT_NAME": "ep", "STATE_TABLE_NAME": "t", "IDLE_MINUTES": "30"}
NOON_ET = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # 12:00 ET, far from the quiet hours
SERVING = ObservedCopies(status=ICStatus.IN_SERVICE, desired=1, current=1)


def _settings(**env: str) -> Settings:
    return Settings.model_validate(BASE | env)


def test_a_configured_fallback_turns_naps_on_with_the_nap_idle_minutes():
    policy = _settings(FALLBACK_ENDPOINT_NAME="ep-fallback", NAP_IDLE_MINUTES="15").policy()
    assert policy.naps is True
    assert policy.idle_minutes == 15


def test_without_a_fallback_the_policy_is_as_before():
    policy = _settings(FALLBACK_ENDPOINT_NAME="", NAP_IDLE_MINUTES="15").policy()
    assert policy.naps is False
    assert policy.idle_minutes == 30


def test_with_a_fallback_an_idle_component_naps_at_noon():
    policy = _settings(FALLBACK_ENDPOINT_NAME="ep-fallback").policy()
    record = StateRecord(state=State.READY)
    decision = decide_sleep(record, SERVING, policy, NOON_ET, trigger="idle", recent_invocations=0)
    assert decision.sleep, decision.reason


def test_without_a_fallback_an_idle_component_stays_up_at_noon():
    policy = _settings().policy()
    record = StateRecord(state=State.READY)
    decision = decide_sleep(record, SERVING, policy, NOON_ET, trigger="idle", recent_invocations=0)
    assert not decision.sleep
    assert "quiet hours" in decision.reason


def test_a_lease_still_wins_over_a_nap():
    policy = _settings(FALLBACK_ENDPOINT_NAME="ep-fallback").policy()
    record = StateRecord(state=State.READY, lease_until=datetime(2026, 11, 24, 18, 0, tzinfo=UTC))
    decision = decide_sleep(record, SERVING, policy, NOON_ET, trigger="idle", recent_invocations=0)
    assert not decision.sleep
    assert "lease" in decision.reason
