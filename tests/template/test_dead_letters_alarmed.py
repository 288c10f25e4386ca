"""Every dead-letter queue in the deployed template is watched by an alarm that notifies: an event that
Scheduler, EventBridge or Lambda could not deliver after its retries is never lost silently."""

from __future__ import annotations

from typing import Any

import pytest

from localaws.cfn_template import translate
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translate(ROOT / "template.yaml")


def _alarmed_queues(resources: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for resource in resources.values():
        p = resource.get("Properties", {})
        if resource["Type"] != "AWS::CloudWatch::Alarm" or p.get("Namespace") != "AWS/SQS":
            continue
        assert p["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert p["Threshold"] == 1 and p["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        for dimension in p["Dimensions"]:
            if dimension["Name"] == "QueueName":
                queue = dimension["Value"]["Fn::GetAtt"][0]
                out.setdefault(queue, []).extend(p.get("AlarmActions", []))
    return out


def test_every_dead_letter_queue_has_an_alarm_that_notifies(cfn):
    resources = cfn["Resources"]
    queues = sorted(k for k, v in resources.items() if v["Type"] == "AWS::SQS::Queue")
    assert len(queues) == 7  # six from the events' DeadLetterConfig, one for the asynchronous functions
    alarmed = _alarmed_queues(resources)
    assert sorted(alarmed) == queues
    for queue, actions in alarmed.items():
        assert actions == [{"Ref": "FailureTopic"}], queue


def test_every_event_dead_letter_config_creates_a_queue_the_check_above_sees(cfn):
    """The events' DeadLetterConfig {Type: SQS} are what create the six queues (SAM), so a new event with one
    shows up in the count above."""
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse((ROOT / "template.yaml").read_text())
    configs = [
        (logical, name)
        for logical, resource in template["Resources"].items()
        for name, event in (resource.get("Properties", {}).get("Events") or {}).items()
        if (event.get("Properties") or {}).get("DeadLetterConfig") == {"Type": "SQS"}
    ]
    assert len(configs) == 6
    for logical, name in configs:
        assert f"{logical}{name}Queue" in cfn["Resources"]
