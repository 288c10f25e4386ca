"""A shared stack's reset gives the next test what a fresh deploy gives (tests/stacks.py `as_deployed`,
localaws/stack_reset.py): every describe_* answer, the emulator's own records and the clock, after a test that
dirtied all of them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from localaws import events as localaws_events
from localaws import stepfunctions
from localaws.local_stack import SAMPLE, LocalStack
from tests.e2e.conftest import sleep_now
from tests.stacks import as_deployed, local_stack

pytestmark = pytest.mark.e2e


def described(local: LocalStack) -> dict[str, Any]:
    """What a test can see of the stack: the describe_*/list_* answers of every service the stack uses, the
    emulator's records of its component and fallback, and the time; read with the clock held still."""
    emu, out = local.emu, local.outputs
    ic, endpoint, fallback = out["InferenceComponentName"], out["EndpointName"], out["FallbackEndpointName"]
    with emu.clock.paused():
        sm, aas, cw = emu.client("sagemaker"), emu.client("application-autoscaling"), emu.client("cloudwatch")
        scheduler, events = emu.client("scheduler"), emu.client("events")
        table = boto3.resource("dynamodb", endpoint_url=emu.endpoint_url, **emu.client_keys().boto()).Table(
            out["StateTableName"]
        )
        component = emu.component(ic)
        served = emu.serverless.endpoints
        seen = {
            "now": emu.now(),
            "state table": table.scan()["Items"],
            "component": sm.describe_inference_component(InferenceComponentName=ic),
            "copy history": list(component.history),
            "copy loaded": component.server is not None,
            "endpoints": [sm.describe_endpoint(EndpointName=name) for name in (endpoint, fallback)],
            "fallback": [(e.name, e.last_used, e.server is not None, list(e.requests)) for e in served.values()],
            "scalable targets": aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"],
            "scaling policies": aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"],
            "alarms": cw.describe_alarms()["MetricAlarms"],
            "metrics": sorted(json.dumps(m, sort_keys=True) for m in cw.list_metrics()["Metrics"]),
            "executions": {m: local.executions(m) for m in ("Wake", "Sleep")},
            "schedules": [
                scheduler.get_schedule(Name=s["Name"], GroupName=s["GroupName"])
                for s in scheduler.list_schedules()["Schedules"]
            ],
            "rules": events.list_rules()["Rules"],
            "subscriptions": emu.client("sns").list_subscriptions()["Subscriptions"],
            "queues": emu.client("sqs").list_queues().get("QueueUrls", []),
            "invocations": len(emu.lambdas.invocations),
            "scaling activities": aas.describe_scaling_activities(ServiceNamespace="sagemaker")["ScalingActivities"],
            "schedule firings": len(emu.scheduler.firings),
            "alarm state changes": len(emu.alarms.events),
            "events delivered": len(localaws_events.DELIVERED),
            "execution events": len(stepfunctions.EMITTED),
            "faults": repr((emu.sagemaker.faults, emu.serverless.faults)),
        }
    for answer in (seen["component"], *seen["endpoints"], *seen["schedules"]):
        answer.pop("ResponseMetadata")
    return seen


def dirty(local: LocalStack) -> None:
    """Everything a test may change: a sleep and a wake (executions, copies, the state table, metrics, alarm
    states), the fallback used and failing, injected faults, a rule disabled, a new queue and subscription, a
    scaling target's bounds, a schedule deleted and one added, hours of emulated time and another speed."""
    emu, out = local.emu, local.outputs
    sleep_now(local)
    client = local.product_client()
    assert client.invoke(SAMPLE.read_bytes()).served_by == "fallback"  # a wake signalled, the fallback used
    local.wait_for_state("ready", timeout=900)
    emu.fail_next_provisioning(out["InferenceComponentName"], "never consumed")
    emu.throttle("DescribeInferenceComponent", "nothing", times=3)
    emu.fail_fallback(out["FallbackEndpointName"], "out of memory")
    emu.refuse_updates_while_updating("ConflictException")
    rule = next(r["Name"] for r in emu.client("events").list_rules()["Rules"] if "ExecutionEnded" in r["Name"])
    emu.client("events").disable_rule(Name=rule)
    sqs, sns = emu.client("sqs"), emu.client("sns")
    queue = sqs.create_queue(QueueName="ops")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=out["FailureTopicArn"], Protocol="sqs", Endpoint=arn)
    scheduler = emu.client("scheduler")
    first = scheduler.list_schedules()["Schedules"][0]
    kept = scheduler.get_schedule(Name=first["Name"], GroupName=first["GroupName"])
    scheduler.delete_schedule(Name=first["Name"], GroupName=first["GroupName"])
    scheduler.create_schedule(
        Name="extra",
        ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": kept["Target"]["Arn"], "RoleArn": kept["Target"]["RoleArn"], "Input": "{}"},
    )
    emu.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=f"inference-component/{out['InferenceComponentName']}",
        ScalableDimension="sagemaker:inference-component:DesiredCopyCount",
        MinCapacity=0,
        MaxCapacity=3,
    )
    local.clock.sleep(3600)  # alarm rounds, schedules and an idle sleep on the jumping clock
    local.clock.set_speed(7.0)


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[LocalStack, dict[str, Any]]]:
    """A stand-in stack kept as deployed, with what it looked like right after the deploy."""
    with local_stack(jump=True, shared=True) as stack:
        yield stack, described(stack)


def test_a_reset_puts_back_what_a_fresh_deploy_gives_after_a_test_changed_everything(deployed):
    stack, fresh = deployed
    with as_deployed(stack) as local:
        dirty(local)
        assert described(local) != fresh
        local.reset()
        after_reset = described(local)
    assert abs(after_reset.pop("now") - fresh["now"]) < timedelta(seconds=5)  # the instant it was kept at
    assert after_reset == {k: v for k, v in fresh.items() if k != "now"}


def test_the_reset_stack_sleeps_and_wakes_as_a_fresh_one(deployed):
    """Whichever test had it before, the stack works: a forced sleep, then a request wakes it through the
    no-capacity alarm."""
    with as_deployed(deployed[0]) as local:
        assert local.status()["state"] == "ready"
        sleep_now(local)
        assert local.invoke().no_capacity
        assert local.wait_for_state("ready", timeout=900)["current_copies"] == 1
        assert local.invoke().ok
