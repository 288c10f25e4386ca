"""The IAM statements an operator needs to run `sleepwake status|wake|sleep|warmup|fire-schedule|plan|report` on
one stack (and call its wake API), as a pure function of the stack's names.

One list serves both places that need it: the local stack grants exactly these to the operator identity it
exports (localaws/local_stack.py; its IAM evaluation enforces them, so every operator test on it exercises them),
and docs/deploy.md ("After the deploy: the operator's policy") prints them for AWS with placeholders, plus the
CloudFormation reads the CLI makes on AWS only (`Deployment.from_stack`: DescribeStacks, ListStackResources; the
local stack's CLI reads its deployment file instead). tests/cli/test_operator_policy.py holds the docs to this
module; `python -m sleepwake_cli.operator_policy` prints the docs' policy.

Resource types and condition keys: the Service Authorization Reference (the ARN formats of SageMaker endpoints
and inference components, DynamoDB tables, Step Functions state machines and executions, EventBridge Scheduler
schedules, Lambda functions, CloudFormation stacks; `cloudwatch:namespace` for PutMetricData;
application-autoscaling:DescribeScalableTargets and cloudwatch:GetMetricStatistics/GetMetricData support no
resource-level permissions, so `*`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sleepwake.core import defaults


@dataclass(frozen=True)
class StackNames:
    """What the statements name: the stack's region and account, and its outputs (template.yaml's Outputs)."""

    region: str
    account: str
    endpoint: str  # EndpointName
    component: str  # InferenceComponentName
    wake_machine: str  # WakeStateMachineArn
    sleep_machine: str  # SleepStateMachineArn
    table: str  # StateTableName
    wake_api: str  # WakeApiInvokeArn
    functions: list[str] = field(default_factory=list)  # the stack's Lambda functions' ARNs (fire-schedule, plan)
    stack: str = ""  # the stack's ARN, for the CloudFormation reads on AWS; "" for the local stack


def operator_statements(names: StackNames) -> list[dict[str, Any]]:
    """What the operator may do: call the wake API, and what the CLI's commands call on this stack."""
    region, account = names.region, names.account
    ic = f"arn:aws:sagemaker:{region}:{account}:inference-component/{names.component}"
    endpoint = f"arn:aws:sagemaker:{region}:{account}:endpoint/{names.endpoint}"
    machines = [names.wake_machine, names.sleep_machine]
    executions = [m.replace(":stateMachine:", ":execution:") + ":*" for m in machines]
    table = f"arn:aws:dynamodb:{region}:{account}:table/{names.table}"
    schedule = f"arn:aws:scheduler:{region}:{account}:schedule/default/*"
    stack = [
        {
            "Sid": "ReadTheStack",  # AWS only: the CLI finds the stack's resources and parameters by its name
            "Effect": "Allow",
            "Action": ["cloudformation:DescribeStacks", "cloudformation:ListStackResources"],
            "Resource": names.stack,
        }
    ]
    return [
        *(stack if names.stack else []),
        {
            "Sid": "CallTheWakeApi",
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": names.wake_api,
        },
        {
            "Sid": "ReadTheComponent",
            "Effect": "Allow",
            "Action": "sagemaker:DescribeInferenceComponent",
            "Resource": ic,
        },
        {
            "Sid": "ReadTheEndpoint",  # a wake plans its first poll from the endpoint's instances
            "Effect": "Allow",
            "Action": "sagemaker:DescribeEndpoint",
            "Resource": endpoint,
        },
        {
            "Sid": "WarmTheComponent",
            "Effect": "Allow",
            "Action": "sagemaker:InvokeEndpoint",
            "Resource": [endpoint, ic],
        },
        {
            "Sid": "ReadAndClaimTheState",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
            "Resource": table,
        },
        {
            "Sid": "StartSleepsAndWakes",
            "Effect": "Allow",
            "Action": ["states:StartExecution", "states:ListExecutions"],
            "Resource": machines,
        },
        {
            "Sid": "FollowExecutions",
            "Effect": "Allow",
            "Action": ["states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"],
            "Resource": executions,
        },
        {"Sid": "ReadSchedules", "Effect": "Allow", "Action": "scheduler:GetSchedule", "Resource": schedule},
        {
            # `sleepwake warmup` counts its requests as the control plane's own (sleepwake.core.warmups), so
            # the report leaves them out; no resource-level permissions, the namespace pinned (as the
            # template's CountFallbackWarmups).
            "Sid": "CountWarmups",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": defaults.METRICS_NAMESPACE}},
        },
        {
            "Sid": "FireScheduledFunctions",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": names.functions,
        },
        # No resource-level permissions for these (Service Authorization Reference); read-only.
        {
            "Sid": "ReadScalingAndMetrics",
            "Effect": "Allow",
            "Action": [
                "application-autoscaling:DescribeScalableTargets",
                "cloudwatch:GetMetricStatistics",
                "cloudwatch:GetMetricData",  # sleepwake plan: the request history
            ],
            "Resource": "*",
        },
    ]


# What docs/deploy.md prints: each <Name> is the stack's output of that name (`aws cloudformation describe-stacks
# --stack-name <Stack> --query 'Stacks[0].Outputs'`), <Region>, <Account> and <Stack> are the deploy's. The
# functions' names are CloudFormation's `<Stack>-<LogicalId>-<suffix>`, hence `<Stack>-*`.
PLACEHOLDERS = StackNames(
    region="<Region>",
    account="<Account>",
    endpoint="<EndpointName>",
    component="<InferenceComponentName>",
    wake_machine="arn:aws:states:<Region>:<Account>:stateMachine:<WakeStateMachineName>",
    sleep_machine="arn:aws:states:<Region>:<Account>:stateMachine:<SleepStateMachineName>",
    table="<StateTableName>",
    wake_api="<WakeApiInvokeArn>",
    functions=["arn:aws:lambda:<Region>:<Account>:function:<Stack>-*"],
    stack="arn:aws:cloudformation:<Region>:<Account>:stack/<Stack>/*",
)


def policy_document(names: StackNames) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": operator_statements(names)}


def policy_text(names: StackNames) -> str:
    """The policy document as docs/deploy.md prints it: one statement a line."""
    statements = ",\n  ".join(json.dumps(s) for s in operator_statements(names))
    return f'{{"Version": "2012-10-17", "Statement": [\n  {statements}\n]}}'


if __name__ == "__main__":
    print(policy_text(PLACEHOLDERS))
