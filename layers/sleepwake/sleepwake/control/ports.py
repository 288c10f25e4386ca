"""What the use cases need from AWS, as typed Protocols, and the one place the real adapters are built.

The classes in `sleepwake.adapters` satisfy these structurally, and so do the fakes the handler tests put in
their place, so mypy checks both against the same signatures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from sleepwake.adapters.autoscaling import CopyScaling
from sleepwake.adapters.awslambda import Functions
from sleepwake.adapters.cloudwatch import Alarms, ComponentMetrics
from sleepwake.adapters.sagemaker import InferenceComponents, Invocation, Runtime
from sleepwake.adapters.scheduler import PlannedWakes
from sleepwake.adapters.sns import Notifications
from sleepwake.adapters.state_table import Change, StateTable
from sleepwake.adapters.stepfunctions import Executions
from sleepwake.core import ObservedCopies, StateRecord
from sleepwake.core.applied_plan import AppliedDay, StoredPlan
from sleepwake.core.endpoint import VariantScaling
from sleepwake.core.warmups import Served
from sleepwake.settings import Settings

T = TypeVar("T")


class ComponentsPort(Protocol):
    def observe(self, name: str) -> ObservedCopies: ...
    def instance_count(self, endpoint: str) -> int | None: ...
    def endpoint_instance_scaling(self, endpoint: str) -> list[VariantScaling]: ...


class RuntimePort(Protocol):
    def invoke(self, endpoint: str, component: str, body: bytes, content_type: str) -> Invocation: ...
    def invoke_endpoint(self, endpoint: str, body: bytes, content_type: str) -> Invocation: ...


class ScalingPort(Protocol):
    def bounds(self, component: str) -> tuple[int, int] | None: ...


class TablePort(Protocol):
    def get(self, component: str) -> StateRecord: ...
    def put(self, component: str, record: StateRecord, *, expected_version: int) -> StateRecord: ...
    def update(
        self, component: str, decide: Callable[[StateRecord], Change[T]], *, what: str
    ) -> tuple[T, StateRecord]: ...
    def get_plan(self, component: str) -> StoredPlan | None: ...
    def put_plan(self, component: str, plan: StoredPlan) -> None: ...
    def plan_days(self, component: str, days: list[date], now: datetime) -> list[AppliedDay]: ...


class ExecutionsPort(Protocol):
    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str: ...
    def describe(self, execution_arn: str) -> dict[str, Any]: ...
    def status(self, execution_arn: str) -> str: ...


class MetricsPort(Protocol):
    def invocations(self, component: str, minutes: int, now: datetime) -> float: ...
    def invocation_history(
        self, component: str, start: datetime, end: datetime, *, fallback_endpoint: str | None = None
    ) -> list[tuple[datetime, float]]: ...
    def fallback_served(self, endpoint: str, start: datetime, end: datetime) -> Served: ...
    def record_own_requests(
        self,
        counted: Mapping[str, float],
        dimensions: list[dict[str, str]],
        at: datetime,
        seconds: Mapping[str, float] | None = None,
    ) -> None: ...


class AlarmsPort(Protocol):
    def rearm(self, alarm_name: str, reason: str) -> None: ...


class NotificationsPort(Protocol):
    def publish(self, topic_arn: str, subject: str, message: str) -> str: ...


class SchedulesPort(Protocol):
    def create(
        self, *, name: str, group: str, at: datetime, tz: str, target_arn: str, role_arn: str, reason: str
    ) -> bool: ...
    def delete(self, *, name: str, group: str) -> bool: ...


class FunctionsPort(Protocol):
    def invoke_async(self, function: str, payload: dict[str, Any]) -> None: ...


@dataclass
class Adapters:
    components: ComponentsPort
    runtime: RuntimePort
    scaling: ScalingPort
    table: TablePort
    executions: ExecutionsPort
    metrics: MetricsPort
    alarms: AlarmsPort | None = None  # only the execution-end handler needs these two
    notifications: NotificationsPort | None = None
    schedules: SchedulesPort | None = None  # only the plan job creates and deletes schedules
    functions: FunctionsPort | None = None  # only the wake API invokes another function (the fallback's pre-warm)

    @classmethod
    def from_clients(cls, settings: Settings, client: Callable[[str], Any], dynamodb: Any) -> Adapters:
        """From a boto3 client factory and DynamoDB resource: the Lambdas' (sleepwake.runtime) and the operator
        CLI's, for the deployment it found."""
        return cls(
            components=InferenceComponents(client("sagemaker")),
            runtime=Runtime(client("sagemaker-runtime")),
            scaling=CopyScaling(client("application-autoscaling")),
            table=StateTable(dynamodb.Table(settings.state_table_name)),
            executions=Executions(client("stepfunctions")),
            metrics=ComponentMetrics(client("cloudwatch")),
            alarms=Alarms(client("cloudwatch")),
            notifications=Notifications(client("sns")),
            schedules=PlannedWakes(client("scheduler")),
            functions=Functions(client("lambda")),
        )
