"""CloudFormation refuses to create a resource whose primary identifier already exists.

Every registry resource type names its primary identifier in its schema (`primaryIdentifier`; the CloudFormation
CLI's "Resource type schema" reference). A create handler whose identifier is taken fails with the handler error
code `AlreadyExists` (the CloudFormation CLI's handler error codes: "The specified resource already existed prior
to the execution of the handler"), and CloudFormation reports it in the stack's events as
`Resource handler returned message: "Resource of type '<type>' with identifier '<id>' already exists."
(RequestToken: <uuid>, HandlerErrorCode: AlreadyExists)` (seen verbatim for AWS::SES::EmailIdentity in
widdix/mastodon-on-aws#27; the identifier of a compound key is its parts joined by "|", in primaryIdentifier's
order, which is also the ScalableTarget's Ref, as in medikoo/serverless-plugin-dynamodb-autoscaling#11:
"table/...|dynamodb:table:WriteCapacityUnits|dynamodb already exists"). The resource then is CREATE_FAILED and
the stack rolls back (`localaws.cfn_stack`).

The schemas are read from cfn-lint's copy of the registry (cfnlint/data/schemas: providers/<region>.json maps a
type to its schema file under resources/).

Checked here: the types whose create API would otherwise quietly take over what exists, when the template names
the resource - RegisterScalableTarget and PutMetricAlarm update in place. The other types' create calls refuse a
taken name themselves (CreateRole, CreateFunction, CreateTable, CreateLogGroup, CreateSchedule, the SageMaker
Create* calls), which fails the resource all the same.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localaws.emulator import Emulator

ALREADY_EXISTS = (
    "Resource handler returned message: \"Resource of type '{kind}' with identifier '{identifier}' already "
    'exists." (RequestToken: {token}, HandlerErrorCode: AlreadyExists)'
)


@cache
def _schemas() -> tuple[Path, dict[str, str]]:
    import cfnlint.data.schemas

    base = Path(cfnlint.data.schemas.__file__).parent
    return base, json.loads((base / "providers" / "us-east-1.json").read_text())


@cache
def primary_identifier(kind: str) -> tuple[str, ...]:
    """The property names of `kind`'s primary identifier, from its registry schema."""
    base, providers = _schemas()
    schema = json.loads((base / "resources" / f"{providers[kind]}.json").read_text())
    return tuple(pointer.rsplit("/", 1)[-1] for pointer in schema["primaryIdentifier"])


def identifier(kind: str, props: dict[str, Any]) -> str | None:
    """The resource's identifier from its properties, or None when the template leaves a part to CloudFormation."""
    parts = [props.get(name) for name in primary_identifier(kind)]
    if any(part in (None, "") for part in parts):
        return None
    return "|".join(str(part) for part in parts)


def _scalable_target_exists(emu: Emulator, props: dict[str, Any]) -> bool:
    found = emu.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace=props["ServiceNamespace"],
        ResourceIds=[props["ResourceId"]],
        ScalableDimension=props["ScalableDimension"],
    )["ScalableTargets"]
    return bool(found)


def _alarm_exists(emu: Emulator, props: dict[str, Any]) -> bool:
    found = emu.client("cloudwatch").describe_alarms(AlarmNames=[props["AlarmName"]])
    return bool(found["MetricAlarms"] or found.get("CompositeAlarms"))


EXISTS: dict[str, Callable[[Emulator, dict[str, Any]], bool]] = {
    "AWS::ApplicationAutoScaling::ScalableTarget": _scalable_target_exists,
    "AWS::CloudWatch::Alarm": _alarm_exists,
}


def already_exists(emu: Emulator, kind: str, props: dict[str, Any]) -> str | None:
    """CloudFormation's reason the resource cannot be created because it exists, or None."""
    check = EXISTS.get(kind)
    if check is None:
        return None
    found = identifier(kind, props)
    if found is None or not check(emu, props):
        return None
    return ALREADY_EXISTS.format(kind=kind, identifier=found, token=uuid.uuid4())
