"""Lambda configuration, parsed once from the environment the template sets; logic never reads os.environ."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sleepwake.core import PlannerSettings, Policy, QuietHours, defaults
from sleepwake.core.keep_warm import KeepWarmMode, KeepWarmSettings
from sleepwake.events import MAX_WARMUP_INVOCATIONS


class Settings(BaseSettings):
    """Every setting comes from a template parameter through a function's environment."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    ic_name: str = Field(validation_alias="IC_NAME")
    endpoint_name: str = Field(validation_alias="ENDPOINT_NAME")
    state_table_name: str = Field(validation_alias="STATE_TABLE_NAME")
    wake_state_machine_arn: str = Field(default="", validation_alias="WAKE_STATE_MACHINE_ARN")
    sleep_state_machine_arn: str = Field(default="", validation_alias="SLEEP_STATE_MACHINE_ARN")
    failure_topic_arn: str = Field(default="", validation_alias="FAILURE_TOPIC_ARN")
    no_capacity_alarm_name: str = Field(default="", validation_alias="NO_CAPACITY_ALARM_NAME")
    sleep_cron: str = Field(default=defaults.SLEEP_CRON, validation_alias="SLEEP_CRON")
    sleep_timezone: str = Field(default=defaults.SLEEP_TIMEZONE, validation_alias="SLEEP_TIMEZONE")
    wake_cron: str = Field(default=defaults.WAKE_CRON, validation_alias="WAKE_CRON")
    wake_timezone: str = Field(default=defaults.WAKE_TIMEZONE, validation_alias="WAKE_TIMEZONE")
    day_min_copies: int = Field(default=defaults.DAY_MIN_COPIES, ge=1, validation_alias="DAY_MIN_COPIES")
    idle_minutes: int = Field(default=defaults.IDLE_MINUTES, ge=1, validation_alias="IDLE_MINUTES")
    provisioning_estimate_seconds: int = Field(
        default=defaults.PROVISIONING_ESTIMATE_SECONDS, ge=0, validation_alias="PROVISIONING_ESTIMATE_SECONDS"
    )
    wake_timeout_seconds: int = Field(
        default=defaults.WAKE_TIMEOUT_SECONDS, ge=60, validation_alias="WAKE_TIMEOUT_SECONDS"
    )
    warmup_invocations: int = Field(
        default=defaults.WARMUP_INVOCATIONS, ge=1, le=MAX_WARMUP_INVOCATIONS, validation_alias="WARMUP_INVOCATIONS"
    )
    max_keep_awake_minutes: int = Field(
        default=defaults.MAX_KEEP_AWAKE_MINUTES, ge=1, validation_alias="MAX_KEEP_AWAKE_MINUTES"
    )
    wake_hold_minutes: int = Field(
        default=defaults.WAKE_HOLD_MINUTES,
        ge=0,
        le=defaults.MAX_KEEP_AWAKE_MINUTES,
        validation_alias="WAKE_HOLD_MINUTES",
    )
    first_poll_seconds: int = Field(
        default=defaults.FIRST_POLL_SECONDS, ge=1, validation_alias="FIRST_POLL_AFTER_SECONDS"
    )
    first_poll_on_instance_seconds: int = Field(
        default=defaults.FIRST_POLL_ON_INSTANCE_SECONDS, ge=1, validation_alias="FIRST_POLL_ON_INSTANCE_SECONDS"
    )
    poll_interval_seconds: int = Field(
        default=defaults.POLL_INTERVAL_SECONDS, ge=1, validation_alias="POLL_INTERVAL_SECONDS"
    )
    warmup_content_type: str = Field(default="audio/wav", validation_alias="WARMUP_CONTENT_TYPE")
    # The serverless endpoint that answers while the component sleeps ("" = none: no naps, behaviour as before).
    fallback_endpoint_name: str = Field(default="", validation_alias="FALLBACK_ENDPOINT_NAME")
    nap_idle_minutes: int = Field(default=defaults.NAP_IDLE_MINUTES, ge=1, validation_alias="NAP_IDLE_MINUTES")
    # GET /status says the fallback was used recently when it served a request in this many minutes.
    fallback_recent_minutes: int = Field(
        default=defaults.FALLBACK_RECENT_MINUTES, ge=1, validation_alias="FALLBACK_RECENT_MINUTES"
    )
    warmup_function_name: str = Field(default="", validation_alias="WARMUP_FUNCTION_NAME")
    # Keeping the fallback warm (sleepwake.core.keep_warm): `ping` sends it one request every
    # FallbackPingMinutes while the component does not serve, in the windows the plan says users may come in.
    fallback_keep_warm: Literal["ping", "none"] = Field(
        default=defaults.FALLBACK_KEEP_WARM, validation_alias="FALLBACK_KEEP_WARM"
    )
    fallback_ping_minutes: int = Field(
        default=defaults.FALLBACK_PING_MINUTES, ge=1, validation_alias="FALLBACK_PING_MINUTES"
    )
    # How long an idle serverless container stays warm: AWS publishes no figure; an assumption that /status uses
    # to say warm or cold (core.defaults).
    fallback_idle_evict_minutes: int = Field(
        default=defaults.FALLBACK_IDLE_EVICT_MINUTES, ge=1, validation_alias="FALLBACK_IDLE_EVICT_MINUTES"
    )

    @property
    def has_fallback(self) -> bool:
        return bool(self.fallback_endpoint_name)

    # The learned schedule (docs/design.md): `learned` applies the stored plan where it has enough history,
    # `crons` keeps the fixed schedules alone. The plan job's one-time wakes go into this group, invoke the wake
    # trigger function and run as the scheduler role.
    schedule_mode: Literal["learned", "crons"] = Field(default="crons", validation_alias="SCHEDULE_MODE")
    # Outside the planned windows of a learned day the idle check naps after this many idle minutes (the
    # simulator's choice); inside a window it waits Policy.planned_idle_minutes.
    unplanned_idle_minutes: int = Field(
        default=defaults.UNPLANNED_IDLE_MINUTES, ge=1, validation_alias="UNPLANNED_IDLE_MINUTES"
    )
    plan_schedule_group: str = Field(default="", validation_alias="PLAN_SCHEDULE_GROUP")
    planned_wake_target_arn: str = Field(default="", validation_alias="PLANNED_WAKE_TARGET_ARN")
    planned_wake_role_arn: str = Field(default="", validation_alias="PLANNED_WAKE_ROLE_ARN")

    def keep_warm_settings(self) -> KeepWarmSettings:
        """The core's keep-warm settings: the mode and ping interval from the template, the rest its defaults."""
        mode = KeepWarmMode.PING if self.fallback_keep_warm == "ping" and self.has_fallback else KeepWarmMode.NONE
        return KeepWarmSettings(mode=mode, ping_minutes=self.fallback_ping_minutes)

    def planner_settings(self) -> PlannerSettings:
        """The planner's defaults, with a lead of one provisioning estimate plus a minute (300 s by default)."""
        return PlannerSettings(lead_seconds=self.provisioning_estimate_seconds + 60)

    @property
    def applied_schedule_mode(self) -> Literal["learned", "crons"]:
        """The learned plan sleeps the component at any hour outside its windows: that needs a fallback to answer
        a user the plan did not expect (docs/design.md). Without one, the crons apply whatever ScheduleMode says."""
        return "learned" if self.schedule_mode == "learned" and self.fallback_endpoint_name else "crons"

    def policy(self) -> Policy:
        return Policy(
            quiet_hours=QuietHours.parse(self.sleep_cron, self.sleep_timezone, self.wake_cron, self.wake_timezone),
            day_min_copies=self.day_min_copies,
            # With a fallback to answer meanwhile, the idle check naps at any hour after NapIdleMinutes.
            naps=self.has_fallback,
            idle_minutes=self.nap_idle_minutes if self.has_fallback else self.idle_minutes,
            provisioning_estimate_seconds=self.provisioning_estimate_seconds,
            wake_timeout_seconds=self.wake_timeout_seconds,
            warmup_invocations=self.warmup_invocations,
            max_keep_awake_minutes=self.max_keep_awake_minutes,
            wake_hold_minutes=self.wake_hold_minutes,
            first_poll_seconds=self.first_poll_seconds,
            first_poll_on_instance_seconds=self.first_poll_on_instance_seconds,
            poll_interval_seconds=self.poll_interval_seconds,
        )
