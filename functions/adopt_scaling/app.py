"""CloudFormation custom resource: scaling set up outside the stack is refused, or taken over and given back.

Runs before the stack registers its scalable target (the target DependsOn it). Create reads what Application
Auto Scaling and CloudWatch hold for the component and, by the `ExistingScaling` parameter, fails the deploy
before changing anything (refuse: the reason says exactly what to remove) or takes it over (take-over: records
it, stops and removes it so the stack's own target and policy are the only ones). Delete puts back what was
recorded, after CloudFormation has deleted the stack's target (it depends on this resource), and is also what a
rollback sends. An Update for the same component changes nothing: what is there now is the stack's own.
Decisions: `sleepwake.core.adoption`; AWS calls: `sleepwake.adapters.adoption`; see docs/design.md, "Adopting
scaling set up outside the stack".
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sleepwake import runtime
from sleepwake.adapters.adoption import ScalingAdoption
from sleepwake.core.adoption import plan_adoption
from sleepwake.custom_resource import send
from sleepwake.observability import logger


def adoption(table_name: str) -> ScalingAdoption:
    table = runtime.resource("dynamodb").Table(table_name)
    return ScalingAdoption(runtime.client("application-autoscaling"), runtime.client("cloudwatch"), table)


def run(event: dict[str, Any]) -> dict[str, Any]:
    """The response's Status, PhysicalResourceId, Reason and Data for one request."""
    props = event.get("ResourceProperties") or {}
    component = props["InferenceComponentName"]
    physical = f"adopted-scaling-{component}"
    adopter = adoption(props["StateTableName"])
    kind = event["RequestType"]
    if kind == "Delete":
        done = adopter.restore(component)
        return {
            "Status": "SUCCESS",
            "PhysicalResourceId": event.get("PhysicalResourceId") or physical,
            "Data": {"Done": " | ".join(done) or "nothing to restore"},
        }
    if kind == "Update" and event.get("PhysicalResourceId") == physical:
        return {"Status": "SUCCESS", "PhysicalResourceId": physical, "Data": {"Done": "unchanged"}}
    existing = adopter.read(component)
    plan = plan_adoption(existing, props.get("Mode", "refuse"))
    if plan.refusal is not None:
        return {"Status": "FAILED", "PhysicalResourceId": physical, "Reason": plan.refusal, "Data": {}}
    done = adopter.take_over(plan, existing)
    logger.info("adopted scaling", extra={"component": component, "done": done})
    return {
        "Status": "SUCCESS",
        "PhysicalResourceId": physical,
        "Data": {"Done": " | ".join(done) or "nothing to adopt"},
    }


@logger.inject_lambda_context(log_event=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        answer = run(event)
    except Exception as error:  # never leave CloudFormation waiting an hour for an answer
        logger.exception("adopting scaling failed")
        answer = {"Status": "FAILED", "Reason": f"adopting scaling failed: {error}"[:1000], "Data": {}}
        answer["PhysicalResourceId"] = event.get("PhysicalResourceId") or "adopted-scaling"
    response = {
        **answer,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }
    send(event["ResponseURL"], response)
    return response
