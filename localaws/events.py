"""EventBridge rule delivery to Step Functions and Lambda targets (moto only delivers to SQS/logs/buses).

`put_event` sends an AWS-service event (e.g. the CloudWatch alarm state change) to the default bus; moto's
own PutEvents also reaches Step Functions and Lambda targets once `install()` has run.

Differs from AWS: delivery is synchronous with the put (a Lambda target runs in a background thread);
no retries or dead-letter queues; InputPath supports only `$` and `$.a.b` paths.
"""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from moto.events import models as ev_models
from moto.utilities.arns import parse_arn

from localaws import service_state

LOG = logging.getLogger(__name__)

# Set by the emulator: (account, region, arn, input_json) -> None
start_state_machine: Callable[[str, str, str, str], None] | None = None
invoke_lambda_async: Callable[[str, str, str, str], None] | None = None

DELIVERED: list[dict[str, Any]] = []  # (rule, target arn, input) for tests and the demo log


def snapshot() -> service_state.Restore:
    """The events delivered so far (localaws.service_state); rules and buses are moto's."""
    return service_state.log_snapshot(DELIVERED)


def put_event(account: str, region: str, event: Any, bus: str = "default") -> int:
    """Deliver one fully formed event to every enabled matching rule on `bus`. Returns rules matched."""
    backend = ev_models.events_backends[account][region]
    try:
        event_bus = backend.describe_event_bus(bus)
    except Exception:
        return 0
    # moto's own PutEvents stamps this (its SQS/log delivery reads it); AWS-service events need it here too.
    event.setdefault("ingestion-time", time.time())
    matched = 0
    for rule in list(event_bus.rules.values()):
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):
            continue
        matched += 1
        rule.send_to_targets(copy.deepcopy(event))
    return matched


def _path(event: dict[str, Any], path: str) -> Any:
    value: Any = event
    for part in [p for p in path.lstrip("$").split(".") if p]:
        value = value[part]
    return value


def _target_input(target: dict[str, Any], event: Any) -> str:
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        return json.dumps(_path(event, target["InputPath"]))
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        out = ev_models.EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,
        )
        return out if isinstance(out, str) else json.dumps(out)
    return json.dumps(event, default=str)


_ORIGINAL_SEND = ev_models.Rule.send_to_targets


def _send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    if not self.event_pattern.matches_event(original_event):
        return
    others = []
    for target in self.targets:
        arn = parse_arn(target["Arn"])
        payload = _target_input(target, original_event)
        if arn.service == "states" and start_state_machine:
            DELIVERED.append({"rule": self.name, "target": target["Arn"], "input": payload})
            start_state_machine(arn.account or self.account_id, arn.region or self.region_name, target["Arn"], payload)
        elif arn.service == "lambda" and invoke_lambda_async:
            DELIVERED.append({"rule": self.name, "target": target["Arn"], "input": payload})
            invoke_lambda_async(arn.account or self.account_id, arn.region or self.region_name, target["Arn"], payload)
        else:
            others.append(target)
    if others:
        clone = copy.copy(self)
        clone.targets = others
        _ORIGINAL_SEND(clone, original_event, transform_input)


def install() -> None:
    ev_models.Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign]


def new_event(source: str, detail_type: str, detail: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "region": region,
        "resources": [],
        "detail": detail,
    }
