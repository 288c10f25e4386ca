"""IAM as the local stack enforces it: policy evaluation, and denied calls answered as AWS answers them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from localaws import iam
from localaws.emulator import Emulator
from tests.localaws.conftest import make_endpoint

IC = "arn:aws:sagemaker:us-east-1:123456789012:inference-component/ic"
TRUST = {"Version": "2012-10-17", "Statement": []}


def allow(action: str | list[str], resource: str | list[str], **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def decide(statements: list[dict[str, object]], action: str, resources: list[str], **context: list[str]) -> str:
    return iam.evaluate([{"Statement": statements}], action, resources, context)[0].value


def test_an_explicit_deny_wins_over_any_allow() -> None:
    statements = [allow("sagemaker:*", "*"), {"Effect": "Deny", "Action": "sagemaker:Update*", "Resource": IC}]
    assert decide(statements, "sagemaker:UpdateInferenceComponentRuntimeConfig", [IC]) == "explicit deny"
    assert decide(statements, "sagemaker:DescribeInferenceComponent", [IC]) == "allow"


def test_nothing_matching_is_an_implicit_deny_and_actions_match_case_insensitively() -> None:
    statements = [allow("SageMaker:describeinferencecomponent", IC)]
    assert decide(statements, "sagemaker:DescribeInferenceComponent", [IC]) == "allow"
    assert decide(statements, "sagemaker:DescribeInferenceComponent", [IC + "-other"]) == "implicit deny"


def test_resource_wildcards_match_as_iam_matches_them() -> None:
    statements = [allow("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:sleepwake-Check*")]
    fn = "arn:aws:lambda:us-east-1:123456789012:function:sleepwake-CheckCopyFunction"
    assert decide(statements, "lambda:InvokeFunction", [fn]) == "allow"
    assert decide(statements, "lambda:InvokeFunction", [fn.replace("Check", "Warmup")]) == "implicit deny"
    # Resource matching is case-sensitive.
    assert decide(statements, "lambda:InvokeFunction", [fn.lower()]) == "implicit deny"


def test_register_scalable_target_is_allowed_only_for_the_namespace_and_dimension_the_condition_names() -> None:
    statements = [
        allow(
            "application-autoscaling:RegisterScalableTarget",
            "arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/*",
            Condition={
                "StringEquals": {
                    "application-autoscaling:service-namespace": "sagemaker",
                    "application-autoscaling:scalable-dimension": "sagemaker:inference-component:DesiredCopyCount",
                }
            },
        )
    ]
    target = ["arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/abc"]
    action = "application-autoscaling:RegisterScalableTarget"
    ours = {
        "application-autoscaling:service-namespace": ["sagemaker"],
        "application-autoscaling:scalable-dimension": ["sagemaker:inference-component:DesiredCopyCount"],
    }
    assert decide(statements, action, target, **ours) == "allow"
    other = ours | {"application-autoscaling:scalable-dimension": ["sagemaker:variant:DesiredInstanceCount"]}
    assert decide(statements, action, target, **other) == "implicit deny"
    assert decide(statements, action, target) == "implicit deny"  # a missing key fails StringEquals


@pytest.mark.parametrize("checks_component", [True, False])
def test_invoke_endpoint_with_a_component_is_authorised_on_the_endpoint_and_per_switch_the_component(
    monkeypatch: pytest.MonkeyPatch, checks_component: bool
) -> None:
    monkeypatch.setattr(iam, "INVOKE_ENDPOINT_CHECKS_COMPONENT", checks_component)
    ctx = iam.request_context(
        "sagemaker:InvokeEndpoint",
        lambda name: None,
        "us-east-1",
        "123456789012",
        "/endpoints/ep/invocations",
        {"X-Amzn-SageMaker-Inference-Component": "ic"},
    )
    endpoint_only = [allow("sagemaker:InvokeEndpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep")]
    expected = "implicit deny" if checks_component else "allow"
    assert decide(endpoint_only, ctx.action, ctx.resources) == expected


def test_a_denied_call_fails_with_aws_access_denied_exception_and_message(emu: Emulator) -> None:
    make_endpoint(emu, copies=0)
    role = iam.create_role(emu.account, "reader", [allow("sagemaker:DescribeInferenceComponent", IC)], TRUST)
    keys = iam.SESSIONS.keys(emu.account, role, "tester")
    sm = emu.client_as(keys, "sagemaker")
    assert sm.describe_inference_component(InferenceComponentName="ic")["InferenceComponentName"] == "ic"
    with pytest.raises(ClientError) as denied:
        sm.update_inference_component_runtime_config(InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 1})
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/reader/tester is not authorized to perform: "
        f"sagemaker:UpdateInferenceComponentRuntimeConfig on resource: {IC} because no identity-based policy "
        "allows the sagemaker:UpdateInferenceComponentRuntimeConfig action"
    )


def test_a_wrong_secret_is_refused_by_every_service(emu: Emulator) -> None:
    wrong = iam.Keys(emu.client_keys().access_key_id, "not-the-secret")
    with pytest.raises(ClientError) as refused:
        emu.client_as(wrong, "stepfunctions").list_state_machines()
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"
    unknown = iam.Keys("AKIAUNKNOWNKEY000000", "whatever")
    with pytest.raises(ClientError) as refused:
        emu.client_as(unknown, "dynamodb").list_tables()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_schedules_are_authorised_on_their_group_and_name_not_on_star():
    """The plan job may create and delete schedules in its own group only (template: schedule/<group>/*)."""
    from localaws.iam import request_context

    body = {"GroupName": "planned"}
    create = request_context(
        "scheduler:CreateSchedule", body.get, "us-east-1", "123456789012", "/schedules/planned-wake-1", {}
    )
    query = {"groupName": "planned"}
    delete = request_context(
        "scheduler:DeleteSchedule",
        query.get,
        "us-east-1",
        "123456789012",
        "/schedules/planned-wake-1?groupName=planned",
        {},
    )
    other = request_context("scheduler:GetSchedule", {}.get, "us-east-1", "123456789012", "/schedules/x", {})

    arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/planned/planned-wake-1"
    assert create.resources == [arn] and delete.resources == [arn]
    assert other.resources == ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/x"]


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("iam", lambda client: client.list_users()),
        (
            "sts",
            lambda client: client.assume_role(RoleArn="arn:aws:iam::123456789012:role/x", RoleSessionName="session"),
        ),
        ("cloudformation", lambda client: client.describe_stacks()),
    ],
)
def test_query_protocol_clients_get_access_denied_as_xml_they_can_parse(
    emu: Emulator, service: str, call: object
) -> None:
    """CloudFormation, IAM and STS speak the Query protocol (botocore service models): a denial is the XML
    ErrorResponse AWS sends, so botocore (and the AWS CLI) read its code and message, not a bare 400."""
    keys = iam.create_user(emu.account, f"nobody-{service}", [allow("sagemaker:DescribeEndpoint", "*")])
    with pytest.raises(ClientError) as denied:
        call(emu.client_as(keys, service))  # type: ignore[operator]
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert error["Message"].startswith(f"User: {keys.arn} is not authorized to perform: {service}:")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_query_services_are_known_from_botocores_models() -> None:
    from localaws.iam_wire import speaks_query

    form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    assert all(speaks_query(name, {}) for name in ("cloudformation", "iam", "sts", "sns"))
    assert not any(speaks_query(name, form) for name in ("sagemaker", "dynamodb", "states", "lambda"))
    # CloudWatch offers CBOR, JSON and Query: only a form is a Query request.
    assert speaks_query("monitoring", form)
    assert not speaks_query("monitoring", {"Content-Type": "application/cbor"})


def test_api_gateway_names_each_wrong_piece_of_a_credential_scope_in_its_words() -> None:
    from localaws.iam_wire import scope_problems

    assert scope_problems("us-east-1", "execute-api", "aws4_request", "us-east-1") == ""
    assert scope_problems("us-west-2", "execute-api", "aws4_request", "us-east-1") == (
        "Credential should be scoped to a valid region, not 'us-west-2'. "
    )
    assert scope_problems("us-east-1", "execute-api", "aws4", "us-east-1") == (
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'. "
    )
