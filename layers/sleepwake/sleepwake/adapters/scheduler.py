"""EventBridge Scheduler: the one-time schedules that start each planned wake.

Each is `at(yyyy-mm-ddThh:mm:ss)` in the wake zone (ScheduleExpressionTimezone), deletes itself after it fires
(ActionAfterCompletion DELETE) and invokes the wake trigger function with `{"source": "planned", ...}` under
the scheduler role of the stack, in the stack's own schedule group (docs/design.md, "The learned schedule").
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError


class PlannedWakes:
    def __init__(self, client: Any) -> None:
        self._scheduler = client

    def create(
        self, *, name: str, group: str, at: datetime, tz: str, target_arn: str, role_arn: str, reason: str
    ) -> bool:
        """Create the one-time wake; False when a schedule of that name is already there (re-planning)."""
        local = at.astimezone(ZoneInfo(tz))
        try:
            self._scheduler.create_schedule(
                Name=name,
                GroupName=group,
                ScheduleExpression=f"at({local:%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone=tz,
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Description=reason[:512],
                Target={
                    "Arn": target_arn,
                    "RoleArn": role_arn,
                    "Input": json.dumps({"source": "planned", "reason": reason}),
                    # A wake that starts 10 minutes late is still mostly ahead of its window; later it is not.
                    "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConflictException":
                return False
            raise
        return True

    def delete(self, *, name: str, group: str) -> bool:
        """Delete a planned wake; False when it is already gone (it fired and deleted itself)."""
        try:
            self._scheduler.delete_schedule(Name=name, GroupName=group)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return False
            raise
        return True
