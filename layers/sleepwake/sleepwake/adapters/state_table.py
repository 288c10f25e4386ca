"""The DynamoDB state table: one item per component, written only with optimistic concurrency.

Every write is conditional on the version the writer read, so of any number of concurrent writers exactly
one wins a transition; the losers re-read and see what the winner did (see docs/design.md, "One wake").
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from sleepwake.core import StateRecord


class Conflict(Exception):
    """Someone else wrote the record since it was read."""


def _to_item(component: str, record: StateRecord) -> dict[str, Any]:
    item: dict[str, Any] = {"ic": component, "state": record.state.value, "version": Decimal(record.version)}
    for key in ("op_id", "op_kind", "execution_name", "reason", "last_error"):
        value = getattr(record, key)
        if value is not None:
            item[key] = value
    for key in ("since", "op_started", "lease_until"):
        value = getattr(record, key)
        if value is not None:
            item[key] = value.isoformat()
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
