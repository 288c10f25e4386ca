"""Every default of the control plane, written once.

The template's Parameter defaults are the deployed values; `TEMPLATE_PARAMETERS` names the one each constant
is, and tests/template/test_defaults.py checks that they agree. Settings (sleepwake.settings), the core's
Policy, the wake API, the operator CLI and the simulator read these constants, never their own copies.
"""

from __future__ import annotations

from typing import Literal

# The quiet hours: sleep at midnight Pacific, wake at 07:00 Eastern (the team's night).
SLEEP_CRON = "cron(0 0 * * ? *)"
SLEEP_TIMEZONE = "America/Los_Angeles"
WAKE_CRON = "cron(0 7 * * ? *)"
WAKE_TIMEZONE = "America/New_York"

DAY_MIN_COPIES = 1
IDLE_MINUTES = 30  # without a fallback: requests in this many minutes keep it awake in the quiet hours
IDLE_CHECK_MINUTES = 15  # IdleCheckSchedule, rate(15 minutes)
NAP_IDLE_MINUTES = 15  # with a fallback: idle minutes before a nap at any hour
PLANNED_IDLE_MINUTES = 20  # inside a window the learned plan expects users in (not a template parameter)
UNPLANNED_IDLE_MINUTES = 5  # outside the learned plan's windows

# The learned plan's rule (sleepwake.core.planner): None keeps a slot awake where traffic is likely (`likely`);
# a number keeps it awake where a nap there would save fewer instance-minutes than this, the price put on one
# unannounced user meeting a napping component (its first requests go to the fallback while it wakes).
PLANNER_MISS_COST_MINUTES: float | None = None
# The hazard of a new request after an idle slot is averaged over this many minutes either side (5-minute slots
# seen on a few weeks of days are too few to read one by one).
PLANNER_HAZARD_SMOOTHING_MINUTES = 15

PROVISIONING_ESTIMATE_SECONDS = 240  # a scale-up that needs a new instance, until a copy serves
WAKE_TIMEOUT_SECONDS = 900
WARMUP_INVOCATIONS = 3
FIRST_POLL_SECONDS = 150  # the first poll of a scale-up that needs a new instance
FIRST_POLL_ON_INSTANCE_SECONDS = 100  # the first poll of a copy on an instance that is still there
POLL_INTERVAL_SECONDS = 5
WARMUP_ESTIMATE_SECONDS = 5  # the warm-up requests after the copy serves (not a template parameter)

FALLBACK_RECENT_MINUTES = 60  # GET /status says the fallback was used recently within this many minutes
# Keeping the fallback warm (sleepwake.core.keep_warm): ping it every FALLBACK_PING_MINUTES where users may come.
# On by default: the simulator's winner (docs/simulate.md, "Keeping the fallback warm": no answer over 3 s for cents
# a week); `none` leaves the fallback's 10-20 s cold start to the first user after an idle spell (docs/fallback.md).
FALLBACK_KEEP_WARM: Literal["ping", "none"] = "ping"
FALLBACK_PING_MINUTES = 5
# How long an idle serverless container stays warm: AWS publishes no figure (docs/aws-behaviour.md §8), an
# assumption shared by /status, the simulator and the emulator; pings keep it warm only below it.
FALLBACK_IDLE_EVICT_MINUTES = 10
FALLBACK_MEMORY_MB = 2048  # the created fallback's ServerlessConfig MemorySizeInMB
# Every function's MemorySize (template.yaml Globals): the simulator prices keep-warm pings and idle checks by it.
LAMBDA_MEMORY_MB = 256

# A POST /wake that does not say how long to stay awake (keep_awake_minutes) holds the component awake this long:
# the product announces a user (a wake intent) minutes before their first request, and a nap in between would send
# that user's first requests to the fallback. The simulator chose it on the built-in week (docs/simulate.md).
WAKE_HOLD_MINUTES = 10

# What a caller may ask of a wake (POST /wake and `sleepwake wake` alike).
MAX_KEEP_AWAKE_MINUTES = 720
REASON_MAX_LENGTH = 200
DEFAULT_WAKE_REASON = "wake api"

# The control plane's own metrics' namespace: the template's POWERTOOLS_METRICS_NAMESPACE (Powertools' embedded
# metrics), its dashboard and IAM conditions, the fallback's warm-up counts, and what `sleepwake report` reads. The
# product client (a separate package) writes its answer metric there too: tests/template/test_metric_namespace.py.
METRICS_NAMESPACE = "Sleepwake"

# Template Parameter -> the constant its Default must equal (the schedule is written as a rate there).
TEMPLATE_PARAMETERS: dict[str, object] = {
    "SleepSchedule": SLEEP_CRON,
    "SleepTimezone": SLEEP_TIMEZONE,
    "WakeSchedule": WAKE_CRON,
    "WakeTimezone": WAKE_TIMEZONE,
    "DayMinCopies": DAY_MIN_COPIES,
    "IdleMinutes": IDLE_MINUTES,
    "IdleCheckSchedule": f"rate({IDLE_CHECK_MINUTES} minutes)",
    "NapIdleMinutes": NAP_IDLE_MINUTES,
    "UnplannedIdleMinutes": UNPLANNED_IDLE_MINUTES,
    "WakeHoldMinutes": WAKE_HOLD_MINUTES,
    "ProvisioningEstimateSeconds": PROVISIONING_ESTIMATE_SECONDS,
    "WakeTimeoutSeconds": WAKE_TIMEOUT_SECONDS,
    "WarmupInvocations": WARMUP_INVOCATIONS,
    "FirstPollAfterSeconds": FIRST_POLL_SECONDS,
    "FirstPollOnInstanceSeconds": FIRST_POLL_ON_INSTANCE_SECONDS,
    "PollIntervalSeconds": POLL_INTERVAL_SECONDS,
    "FallbackKeepWarm": FALLBACK_KEEP_WARM,
    "FallbackPingMinutes": FALLBACK_PING_MINUTES,
    "FallbackIdleEvictMinutes": FALLBACK_IDLE_EVICT_MINUTES,
    "FallbackMemoryMb": FALLBACK_MEMORY_MB,
}

# What the figures assume (`sleepwake simulate`, `sleepwake report`, `make replay`); each a published price or
# a documented AWS behaviour, pass your own to the commands that take them.
INSTANCE_PRICE_PER_HOUR = 0.20  # ml.inf1.xlarge as the team reported it (docs/aws-behaviour.md §1); pass your region's
SERVERLESS_PRICE_PER_GB_SECOND = 0.0000200  # Serverless Inference compute, us-east-1 (SageMaker pricing page)
# An answer slower than this is a slow answer: the "no waiting" (`sleepwake report`, `sleepwake simulate`).
SLOW_SECONDS = 3.0
INSTANCE_RELEASE_MINUTES = 10.0  # AWS keeps an instance ~10 min after its last copy is gone (docs/aws-behaviour.md)
