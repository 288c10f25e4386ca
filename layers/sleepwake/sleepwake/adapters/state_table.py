"""The DynamoDB state table: one item per component, written only with optimistic concurrency.

Every write is conditional on the version the writer read, so of any number of concurrent writers exactly
one wins a transition; the losers re-read and see what the winner did (see docs/design.md, "One wake").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

from botocore.exceptions import ClientError

from sleepwake.core import StateRecord, iso
from sleepwake.core.applied_plan import AppliedDay, StoredPlan

# Each planned day is also kept as its own item for `sleepwake report` (at most 90 days back), deleted by
# DynamoDB's Time to Live after this many days (the template's TimeToLiveSpecification names the attribute).
# TTL deletes an expired item "typically within a few days" and reads return it until then (DynamoDB
# Developer Guide, "Working with expired items": https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
# ttl-expired-items.html), so readers leave out expired items themselves.
PLAN_DAY_KEPT_DAYS = 100
TTL_ATTRIBUTE = "expires_at"
MAX_ATTEMPTS = 8  # reads and conditional writes before `update` gives up (each loser re-reads and decides again)

T = TypeVar("T")


class Conflict(Exception):
    """Someone else wrote the record since it was read."""


@dataclass(frozen=True)
class Change(Generic[T]):
    """What one attempt of `StateTable.update` decided: the record to write (None: write nothing) and the
    answer to give back if that write wins."""

    write: StateRecord | None
    result: T


def _to_item(component: str, record: StateRecord) -> dict[str, Any]:
    item: dict[str, Any] = {"ic": component, "state": record.state.value, "version": Decimal(record.version)}
    for key in ("op_id", "op_kind", "execution_name", "reason", "last_error", "last_notified"):
        value = getattr(record, key)
        if value is not None:
            item[key] = value
    for key in ("since", "op_started", "lease_until"):
        value = getattr(record, key)
        if value is not None:
            item[key] = iso(value)
    if record.provisioning_seconds is not None:
        item["provisioning_seconds"] = Decimal(record.provisioning_seconds)
    if record.warmup_latencies_ms:
        item["warmup_latencies_ms"] = json.dumps([round(v, 1) for v in record.warmup_latencies_ms])
    if record.warnings:
        item["warnings"] = json.dumps(record.warnings)
    return item


def _from_item(item: dict[str, Any]) -> StateRecord:
    json_fields = ("warmup_latencies_ms", "warnings")
    data: dict[str, Any] = {k: v for k, v in item.items() if k not in ("ic", "version", *json_fields)}
    for key in ("since", "op_started", "lease_until"):
        if key in data:
            data[key] = datetime.fromisoformat(data[key])
    data["version"] = int(item.get("version", 0))
    if "provisioning_seconds" in item:
        data["provisioning_seconds"] = int(item["provisioning_seconds"])
    for key in json_fields:
        if key in item:
            data[key] = json.loads(item[key])
    return StateRecord.model_validate(data)


class StateTable:
    def __init__(self, table: Any) -> None:
        self._table = table  # a boto3 dynamodb Table resource

    def get(self, component: str) -> StateRecord:
        item = self._table.get_item(Key={"ic": component}, ConsistentRead=True).get("Item")
        return _from_item(item) if item else StateRecord()

    def put(self, component: str, record: StateRecord, *, expected_version: int) -> StateRecord:
        """Write `record` as version expected_version + 1, only if the stored version is still expected."""
        new = record.model_copy(update={"version": expected_version + 1})
        try:
            self._table.put_item(
                Item=_to_item(component, new),
                ConditionExpression="attribute_not_exists(ic) OR version = :v",
                ExpressionAttributeValues={":v": Decimal(expected_version)},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise Conflict(f"{component} changed since version {expected_version}") from error
            raise
        return new

    def update(self, component: str, decide: Callable[[StateRecord], Change[T]], *, what: str) -> tuple[T, StateRecord]:
        """The one optimistic update: read the record, `decide` on it, write the decision conditionally on the
        version read, and on a conflict read and decide again (at most MAX_ATTEMPTS times; then Conflict names
        `what`). Returns the decision's result and the record as stored after it (the one read, when `decide`
        wrote nothing). `decide` may raise to stop, and may read other things: it runs again on each attempt."""
        for _ in range(MAX_ATTEMPTS):
            record = self.get(component)
            change = decide(record)
            if change.write is None:
                return change.result, record
            try:
                return change.result, self.put(component, change.write, expected_version=record.version)
            except Conflict:
                continue
        raise Conflict(f"{component} kept changing: could not {what} in {MAX_ATTEMPTS} attempts")

    # ---- the learned plan: a second item, `plan#<component>`, written whole by the plan job ---------------
    def get_plan(self, component: str) -> StoredPlan | None:
        item = self._table.get_item(Key={"ic": plan_key(component)}, ConsistentRead=True).get("Item")
        return StoredPlan.model_validate_json(item["plan"]) if item else None

    def put_plan(self, component: str, plan: StoredPlan) -> None:
        """Last writer wins: the plan job is the only writer, and a plan is whole in itself. Each of its days is
        also kept on its own (`plan#<component>#<day>`, expiring PLAN_DAY_KEPT_DAYS after it) for the report."""
        self._table.put_item(Item={"ic": plan_key(component), "plan": plan.model_dump_json()})
        for applied in AppliedDay.of(plan):
            expires = datetime.combine(applied.plan.day, datetime.min.time(), plan.made_at.tzinfo)
            expires += timedelta(days=PLAN_DAY_KEPT_DAYS)
            self._table.put_item(
                Item={
                    "ic": plan_day_key(component, applied.plan.day),
                    "plan": applied.model_dump_json(),
                    TTL_ATTRIBUTE: Decimal(int(expires.timestamp())),
                }
            )

    def plan_days(self, component: str, days: list[date], now: datetime) -> list[AppliedDay]:
        """The kept plans of these local days (one GetItem each, the permission the operator already has); days
        with none, or whose item has expired but is not deleted yet, are left out."""
        found: list[AppliedDay] = []
        for day in days:
            item = self._table.get_item(Key={"ic": plan_day_key(component, day)}).get("Item")
            if item and int(item.get(TTL_ATTRIBUTE, 0)) > now.timestamp():
                found.append(AppliedDay.model_validate_json(item["plan"]))
        return found


def plan_key(component: str) -> str:
    return f"plan#{component}"


def plan_day_key(component: str, day: date) -> str:
    return f"plan#{component}#{day.isoformat()}"
