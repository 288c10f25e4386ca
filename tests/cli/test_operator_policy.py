"""What an operator must be granted on AWS is written down once: docs/deploy.md's policy is the one the local
stack grants its operator (and enforces), plus the CloudFormation reads the CLI makes on AWS only."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sleepwake_cli.operator_policy import PLACEHOLDERS, StackNames, operator_statements, policy_document, policy_text

DEPLOY_MD = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
SECTION = "## After the deploy: the operator's policy"


def documented_policy() -> dict:
    text = DEPLOY_MD.read_text()
    assert SECTION in text
    block = re.search(r"```json\n(.*?)\n```", text[text.index(SECTION) :], re.S)
    assert block, f"no ```json block under {SECTION!r}"
    return dict(json.loads(block.group(1)))


def test_the_documented_operator_policy_is_the_one_the_cli_is_tested_with():
    assert documented_policy() == policy_document(PLACEHOLDERS), (
        "docs/deploy.md's operator policy differs from sleepwake_cli/operator_policy.py; paste:\n"
        + policy_text(PLACEHOLDERS)
    )


def test_on_aws_the_operator_may_read_the_stack_the_cli_looks_up_by_name():
    read = next(s for s in documented_policy()["Statement"] if s["Sid"] == "ReadTheStack")
    assert read["Action"] == ["cloudformation:DescribeStacks", "cloudformation:ListStackResources"]
    assert read["Resource"] == "arn:aws:cloudformation:<Region>:<Account>:stack/<Stack>/*"


def test_the_local_stack_grants_the_same_statements_without_the_cloudformation_reads():
    local = StackNames(
        region="us-east-1",
        account="123456789012",
        endpoint="sleepwake-endpoint",
        component="sleepwake-ic",
        wake_machine="arn:aws:states:us-east-1:123456789012:stateMachine:WakeStateMachine-abc",
        sleep_machine="arn:aws:states:us-east-1:123456789012:stateMachine:SleepStateMachine-def",
        table="sleepwake-StateTable-xyz",
        wake_api="arn:aws:execute-api:us-east-1:123456789012:api1/Prod/*/*",
        functions=["arn:aws:lambda:us-east-1:123456789012:function:sleepwake-IdleCheckFunction-1"],
    )
    on_aws = [s["Sid"] for s in operator_statements(PLACEHOLDERS)]
    assert on_aws[0] == "ReadTheStack"
    assert [s["Sid"] for s in operator_statements(local)] == on_aws[1:]
    executions = next(s for s in operator_statements(local) if s["Sid"] == "FollowExecutions")["Resource"]
    assert executions == [
        "arn:aws:states:us-east-1:123456789012:execution:WakeStateMachine-abc:*",
        "arn:aws:states:us-east-1:123456789012:execution:SleepStateMachine-def:*",
    ]
