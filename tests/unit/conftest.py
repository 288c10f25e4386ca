from __future__ import annotations

import pytest

from sleepwake.core import Policy, QuietHours, defaults


@pytest.fixture
def policy() -> Policy:
    """The deployed defaults: the team's night (00:00 Pacific to 07:00 Eastern) and every other default."""
    night = QuietHours.parse(defaults.SLEEP_CRON, defaults.SLEEP_TIMEZONE, defaults.WAKE_CRON, defaults.WAKE_TIMEZONE)
    return Policy(quiet_hours=night)
