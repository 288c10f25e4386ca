"""The security lint `make lint` runs (checkov on template.yaml, parliament on every IAM statement of the
translated template): the IAM lint sees every statement and fails real defects, every exception is justified
where it is made. `make lint` runs both on the template itself (tests/tooling/test_make_lint.py)."""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import pytest

from tests.conftest import ROOT


def _lint_iam() -> Any:
    spec = importlib.util.spec_from_file_location("lint_iam", ROOT / "scripts" / "lint_iam.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lint_iam() -> Any:
    return _lint_iam()


def test_the_iam_lint_sees_the_statements_sam_generates(lint_iam):
    where = dict(lint_iam.policies(ROOT / "template.yaml"))
    # Roles SAM writes for schedules and state machines, and the one we write in create mode.
    assert {"WakeTriggerFunctionMorningWakeRole trust policy", "ModelExecutionRole/serve-the-model"} <= set(where)
    text = str(where)
    assert "sqs:SendMessage" in text  # the wake trigger's dead-letter queue, granted by SAM
    assert "${" not in text and "Fn::" not in text and "'Ref'" not in text  # every intrinsic resolved


def test_the_iam_lint_fails_a_statement_aws_would_never_match(lint_iam):
    bad = {
        "Statement": [
            {
                "Sid": "WrongResource",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem"],
                "Resource": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/sleepwake-endpoint",
            },
            {"Sid": "Typo", "Effect": "Allow", "Action": ["sagemaker:DescribeInferenceComponents"], "Resource": "*"},
        ]
    }
    problems = lint_iam.lint_policies([("Example/policy", bad)])
    assert any("RESOURCE_MISMATCH" in p for p in problems), problems
    assert any("UNKNOWN_ACTION" in p for p in problems), problems


def test_the_operator_policy_the_docs_give_is_linted_and_clean(lint_iam):
    where, document = lint_iam.operator_policy()
    assert where.startswith("OperatorPolicy")
    assert lint_iam.lint_policies([(where, document)]) == []
    typo = {
        "Statement": [*document["Statement"], {"Effect": "Allow", "Action": "states:ListExecution", "Resource": "*"}]
    }
    assert any("UNKNOWN_ACTION" in p for p in lint_iam.lint_policies([(where, typo)]))


def test_a_suppression_covers_only_the_actions_it_names(lint_iam):
    escalation = {"Statement": [{"Effect": "Allow", "Action": ["iam:PutRolePolicy"], "Resource": "*"}]}
    assert lint_iam.lint_policies([("WakeStateMachineRole/WakeStateMachineRolePolicy4", escalation)]) != []


def test_every_checkov_skip_in_the_template_says_why():
    text = (ROOT / "template.yaml").read_text()
    skips = re.findall(r"- id: (CKV_\w+)\n\s+comment: \"([^\"]*)\"", text)
    assert len(skips) >= 8
    assert len(re.findall(r"- id: CKV_", text)) == len(skips)
    assert [check for check, why in skips if len(why) < 40] == []
