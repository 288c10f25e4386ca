"""What every use case works on: the settings, the policy they imply, the adapters and the clock.

A use case is a function of a `ControlPlane` (control/wake.py, control/sleep.py, ...); this module holds only
what several of them read the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sleepwake import clock as clock_module
from sleepwake.adapters.stepfunctions import execution_arn
from sleepwake.control.ports import Adapters
from sleepwake.core import ObservedCopies, Policy, StateRecord
from sleepwake.core.applied_plan import StoredPlan
from sleepwake.observability import logger
from sleepwake.settings import Settings


@dataclass
class ControlPlane:
    settings: Settings
    aws: Adapters
    # The time source; by default the layer's clock (the wall clock on AWS, the emulated one on the local stack).
    clock: Callable[[], datetime] = clock_module.now
    policy: Policy = field(init=False)

    def __post_init__(self) -> None:
        self.policy = self.settings.policy()

    @property
    def ic(self) -> str:
        return self.settings.ic_name

    def now(self) -> datetime:
        return self.clock()

    def observe(self) -> tuple[StateRecord, ObservedCopies]:
        return self.aws.table.get(self.ic), self.aws.components.observe(self.ic)

    def execution(self, record: StateRecord) -> str | None:
        """The ARN of the execution the record names (its bare name when the machine's ARN is not configured)."""
        if not record.execution_name:
            return None
        machine = (
            self.settings.wake_state_machine_arn if record.op_kind == "wake" else self.settings.sleep_state_machine_arn
        )
        return execution_arn(machine, record.execution_name) if machine else record.execution_name

    def stored_plan(self) -> StoredPlan | None:
        """The plan the plan job stored; None when there is none or it cannot be read (the crons then apply:
        a failed read must never stop a sleep or a wake)."""
        try:
            return self.aws.table.get_plan(self.ic)
        except Exception:
            logger.warning("could not read the stored plan; the fixed schedules apply", exc_info=True)
            return None

    def applied_plan(self) -> StoredPlan | None:
        """The stored plan when the learned schedule applies (ScheduleMode learned with a fallback), else None."""
        return self.stored_plan() if self.settings.applied_schedule_mode == "learned" else None
