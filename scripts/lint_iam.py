"""Lint every IAM policy statement CloudFormation would receive for template.yaml, offline.

The template is translated with the SAM translator in-process (as the local stack does), so the statements
SAM generates (policy templates, schedule and DLQ roles, queue policies) are linted with ours. Intrinsics are
resolved with ARNs of the right shape for each resource type, in create mode so every role exists. Each
statement goes to parliament; a finding fails the run unless SUPPRESSED names it with a reason. The operator's
policy docs/deploy.md gives for AWS (sleepwake_cli/operator_policy.py) is linted with them.

Why parliament: it runs offline on the IAM definitions it ships (actions, resource types and ARN formats,
condition keys) and checks exactly what review misses - an unknown action, a resource ARN that cannot match
the action's resource types, a condition key the action does not support, and risky action combinations.
policy_sentry is a policy generator and query database rather than a linter, and iam-policy-validator reads
AWS's Service Reference over the network.

Usage: .venv/bin/python scripts/lint_iam.py [template.yaml]   (exit 1 on an unsuppressed finding)
"""

from __future__ import annotations

import fnmatch
import importlib.resources
import json
import sys
import types
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "sleepwake")]

from localaws.cfn_template import Resolver, translate  # noqa: E402
from localaws.local_stack import CREATE_MODE  # noqa: E402

REGION, ACCOUNT, STACK = "us-east-1", "123456789012", "sleepwake"

DESCRIBE_EXECUTION = (
    "parliament's IAM data (1.6.4) knows only the express-execution ARN for DescribeExecution; the Service "
    "Authorization Reference also lists the standard `execution` resource type "
    "(arn:...:states:region:account:execution:<state machine>:<name>), which is what these statements name"
)
# (finding issue, policy location glob, the actions it names) -> why it is not a defect. Each reason must hold
# against the template; a finding on any other action or policy still fails the run.
SUPPRESSED: dict[tuple[str, str, tuple[str, ...]], str] = {
    ("CREDENTIALS_EXPOSURE", "* trust policy", ("sts:assumerole",)): (
        "a trust policy's one action lets the AWS service in its Principal assume the role; handing that "
        "service the role's credentials is what the role is for"
    ),
    ("CREDENTIALS_EXPOSURE", "ModelExecutionRole/serve-the-model", ("ecr:getauthorizationtoken",)): (
        "SageMaker needs a registry token to pull the serving image; what the token may pull is limited by the "
        "PullTheImage statement to the one repository"
    ),
    ("RESOURCE_MISMATCH", "*FunctionRole/*", ("states:describeexecution",)): DESCRIBE_EXECUTION,
    ("RESOURCE_MISMATCH", "OperatorPolicy *", ("states:describeexecution",)): DESCRIBE_EXECUTION,
    ("RESOURCE_MISMATCH", "OperatorPolicy *", ("states:listexecutions",)): (
        "the Service Authorization Reference gives ListExecutions two resource types, `stateMachine` (a state "
        "machine's executions: the CLI's call, with stateMachineArn) and `mapRun` (a Distributed Map run's); "
        "parliament 1.6.4 asks for the mapRun ARN although the statement names the two state machines"
    ),
    ("CREDENTIALS_EXPOSURE", "FallbackModelRole/serve-the-fallback", ("ecr:getauthorizationtoken",)): (
        "SageMaker needs a registry token to pull the fallback's CPU image; what the token may pull is limited by "
        "the PullTheCpuImage statement to the one repository"
    ),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "*StateMachineRole/*", ("logs:putresourcepolicy",)): (
        "Step Functions delivers execution logs to CloudWatch Logs only with the log-delivery actions, this one "
        "included (Step Functions developer guide, logging); it changes CloudWatch Logs resource policies, not "
        "IAM, and has no resource-level permissions"
    ),
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "PlanDayFunctionRole/*", ("iam:passrole",)): (
        "CreateSchedule needs iam:PassRole for the role the schedule runs as; the statement names the one "
        "PlannedWakeRole (which may only invoke the wake trigger function) and is conditioned on "
        "iam:PassedToService scheduler.amazonaws.com"
    ),
}


def _suppression(issue: str, where: str, actions: list[str]) -> str | None:
    for (s_issue, s_where, s_actions), reason in SUPPRESSED.items():
        if issue == s_issue and fnmatch.fnmatch(where, s_where) and set(actions) <= set(s_actions):
            return reason
    return None


def _physical(logical: str, kind: str) -> tuple[str, dict[str, str]]:
    """(Ref value, GetAtt attributes) with the ARN shapes AWS gives each resource type."""
    name = f"{STACK}-{logical}"
    arn = f"arn:aws:{{}}:{REGION}:{ACCOUNT}:{{}}"
    shapes: dict[str, tuple[str, dict[str, str]]] = {
        "AWS::DynamoDB::Table": (name, {"Arn": arn.format("dynamodb", f"table/{name}")}),
        "AWS::SNS::Topic": (arn.format("sns", name), {"TopicName": name, "TopicArn": arn.format("sns", name)}),
        "AWS::SQS::Queue": (
            f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
            {"Arn": arn.format("sqs", name), "QueueName": name},
        ),
        "AWS::Lambda::Function": (name, {"Arn": arn.format("lambda", f"function:{name}")}),
        "AWS::Lambda::LayerVersion": (arn.format("lambda", f"layer:{name}:1"), {}),
        "AWS::StepFunctions::StateMachine": (
            arn.format("states", f"stateMachine:{name}"),
            {"Arn": arn.format("states", f"stateMachine:{name}"), "Name": name},
        ),
        "AWS::CloudWatch::Alarm": (name, {"Arn": arn.format("cloudwatch", f"alarm:{name}")}),
        "AWS::Logs::LogGroup": (name, {"Arn": arn.format("logs", f"log-group:{name}:*")}),
        "AWS::IAM::Role": (name, {"Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}"}),
        "AWS::Events::Rule": (name, {"Arn": arn.format("events", f"rule/{name}")}),
        "AWS::Scheduler::Schedule": (name, {"Arn": arn.format("scheduler", f"schedule/default/{name}")}),
        "AWS::Scheduler::ScheduleGroup": (name, {"Arn": arn.format("scheduler", f"schedule-group/{name}")}),
        "AWS::ApiGateway::RestApi": ("a1b2c3d4e5", {"RootResourceId": "r00t"}),
        "AWS::SageMaker::Model": (arn.format("sagemaker", f"model/{name}"), {"ModelName": name}),
        "AWS::SageMaker::EndpointConfig": (
            arn.format("sagemaker", f"endpoint-config/{name}"),
            {"EndpointConfigName": name},
        ),
    }
    return shapes.get(kind, (name, {}))


def policies(template: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, policy document) for every identity and resource policy in the translated template."""
    cfn = translate(template, REGION, ACCOUNT, STACK)
    params = {k: str(v.get("Default", "")) for k, v in cfn.get("Parameters", {}).items()} | CREATE_MODE
    pseudo = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::StackName": STACK,
        "AWS::URLSuffix": "amazonaws.com",
    }
    resolver = Resolver(params, pseudo, cfn.get("Conditions", {}))
    resources = cfn["Resources"]
    for logical, resource in resources.items():
        resolver.refs[logical], resolver.attrs[logical] = _physical(logical, resource["Type"])
    component = params["InferenceComponentName"]
    resolver.attrs["InferenceComponent"] = {
        "InferenceComponentArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/{component}"
    }
    resolver.attrs["Endpoint"] = {"EndpointName": params["EndpointName"]}
    for logical, resource in resources.items():
        condition = resource.get("Condition")
        if condition and not resolver.condition(condition):
            continue
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            # A trust policy's resource is the role it is attached to (IAM leaves Resource out of it); parliament
            # lints statements as identity policies, so the implicit resource is written in.
            trust = resolver.resolve(props["AssumeRolePolicyDocument"])
            role = resolver.attrs[logical]["Arn"]
            trust["Statement"] = [{**statement, "Resource": role} for statement in trust["Statement"]]
            yield f"{logical} trust policy", trust
            for policy in props.get("Policies", []):
                yield f"{logical}/{policy['PolicyName']}", resolver.resolve(policy["PolicyDocument"])
        elif "PolicyDocument" in props:  # queue, topic and other resource policies SAM may add
            yield f"{logical} ({resource['Type']})", resolver.resolve(props["PolicyDocument"])


def operator_policy() -> tuple[str, dict[str, Any]]:
    """The operator's policy docs/deploy.md gives for AWS (sleepwake_cli/operator_policy.py), with the names the
    stack's resources get here."""
    from sleepwake_cli.operator_policy import StackNames, policy_document

    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STACK}-{{}}StateMachine"
    names = StackNames(
        region=REGION,
        account=ACCOUNT,
        endpoint=CREATE_MODE.get("EndpointName", "sleepwake-endpoint"),
        component=CREATE_MODE.get("InferenceComponentName", "sleepwake-ic"),
        wake_machine=machine.format("Wake"),
        sleep_machine=machine.format("Sleep"),
        table=f"{STACK}-StateTable",
        wake_api=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a1b2c3d4e5/v1/*",  # the WakeApiInvokeArn output
        functions=[f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-*"],
        stack=f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/*",
    )
    return "OperatorPolicy (docs/deploy.md)", policy_document(names)


def _import_parliament() -> Any:
    """parliament 1.6.4 reads its data files through pkg_resources, which setuptools 81+ no longer ships; it
    uses only resource_filename, so that one function is provided from importlib.resources."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda package, name: str(importlib.resources.files(package) / name)  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    import parliament

    return parliament


def lint_policies(documents: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
    """Findings that no SUPPRESSED entry explains, one line each; prints the count and what was suppressed."""
    parliament = _import_parliament()
    problems: list[str] = []
    suppressed: Counter[str] = Counter()
    statements = 0
    for where, document in documents:
        statements += len(document["Statement"])
        text = json.dumps({"Version": "2012-10-17", **document})
        for finding in parliament.analyze_policy_string(text, include_community_auditors=True).findings:
            actions = list((finding.location or {}).get("actions") or []) or [
                # RESOURCE_MISMATCH names its actions in the detail, not the location
                str(d["action"]).lower()
                for d in (finding.detail if isinstance(finding.detail, list) else [])
                if isinstance(d, dict) and "action" in d
            ]
            reason = _suppression(finding.issue, where, actions) if actions else None
            if reason:
                suppressed[f"{finding.issue} {actions}: {reason}"] += 1
            else:
                problems.append(f"{where}: {finding.issue} {actions or ''} {finding.detail or ''}".rstrip())
    for line, times in suppressed.items():
        print(f"suppressed {times}x {line}")
    print(f"parliament: {statements} statements linted, {len(problems)} findings")
    return problems


def lint(template: Path) -> list[str]:
    return lint_policies([*policies(template), operator_policy()])


def main(argv: list[str]) -> int:
    template = Path(argv[0]) if argv else ROOT / "template.yaml"
    problems = lint(template)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
