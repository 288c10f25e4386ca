"""The emulator answers what a preflight asks before a deploy: SageMaker's serverless concurrency quota (Service
Quotas) and IAM's policy simulation, decided by the same evaluation that authorises every emulated call."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from localaws import iam, servicequotas

QUOTA = {"ServiceCode": "sagemaker", "QuotaCode": "L-96300102"}


@pytest.fixture
def applied(monkeypatch):
    def apply(value: float | None) -> None:
        monkeypatch.setattr(servicequotas.ServiceQuotasSwitches, "applied", value)

    return apply


def test_the_serverless_concurrency_quota_has_aws_default_of_200(emu):
    quota = emu.client("service-quotas").get_aws_default_service_quota(**QUOTA)["Quota"]
    assert quota["Value"] == 200.0
    assert quota["QuotaName"] == "Maximum total concurrency that can be allocated across all serverless endpoints"
    listed = emu.client("service-quotas").list_aws_default_service_quotas(ServiceCode="sagemaker")["Quotas"]
    assert [q["QuotaCode"] for q in listed] == ["L-96300102"]


@pytest.mark.parametrize("value", [None, 10.0])
def test_get_service_quota_answers_the_applied_value_or_that_none_is_applied(emu, applied, value):
    applied(value)
    client = emu.client("service-quotas")
    if value is None:
        with pytest.raises(ClientError) as refused:
            client.get_service_quota(**QUOTA)
        assert refused.value.response["Error"]["Code"] == "NoSuchResourceException"
    else:
        assert client.get_service_quota(**QUOTA)["Quota"]["Value"] == value


def test_an_unknown_quota_is_no_such_resource(emu):
    with pytest.raises(ClientError) as refused:
        emu.client("service-quotas").get_aws_default_service_quota(ServiceCode="sagemaker", QuotaCode="L-NOPE")
    assert refused.value.response["Error"]["Code"] == "NoSuchResourceException"


STATEMENTS = [
    {"Effect": "Allow", "Action": "sagemaker:Describe*", "Resource": "*"},
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::models/*"},
    {"Effect": "Deny", "Action": "sagemaker:DescribeEndpointConfig", "Resource": "*"},
]


def _decisions(emu, arn: str, actions: list[str], resources: list[str] | None = None) -> dict[str, str]:
    answer = emu.client("iam").simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=actions, **({"ResourceArns": resources} if resources else {})
    )
    return {r["EvalActionName"]: r["EvalDecision"] for r in answer["EvaluationResults"]}


def test_simulation_reports_allowed_explicit_and_implicit_denials_of_a_user(emu):
    keys = iam.create_user(emu.account, "deployer", STATEMENTS)
    assert _decisions(
        emu, keys.arn, ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "lambda:CreateFunction"]
    ) == {
        "sagemaker:DescribeEndpoint": "allowed",
        "sagemaker:DescribeEndpointConfig": "explicitDeny",
        "lambda:CreateFunction": "implicitDeny",
    }


def test_simulation_without_resources_uses_star_which_a_resource_scoped_grant_does_not_match(emu):
    keys = iam.create_user(emu.account, "deployer", STATEMENTS)
    assert _decisions(emu, keys.arn, ["s3:GetObject"]) == {"s3:GetObject": "implicitDeny"}
    assert _decisions(emu, keys.arn, ["s3:GetObject"], ["arn:aws:s3:::models/m.tar.gz"]) == {"s3:GetObject": "allowed"}
    both = emu.client("iam").simulate_principal_policy(
        PolicySourceArn=keys.arn,
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::models/m.tar.gz", "arn:aws:s3:::other/m.tar.gz"],
    )["EvaluationResults"][0]
    assert both["EvalDecision"] == "implicitDeny"
    assert [r["EvalResourceDecision"] for r in both["ResourceSpecificResults"]] == ["allowed", "implicitDeny"]


def test_simulation_of_a_role_uses_its_policies(emu):
    trust = {"Version": "2012-10-17", "Statement": []}
    arn = iam.create_role(emu.account, "ci-deployer", [STATEMENTS[0]], trust)
    assert _decisions(emu, arn, ["sagemaker:DescribeEndpoint", "s3:GetObject"]) == {
        "sagemaker:DescribeEndpoint": "allowed",
        "s3:GetObject": "implicitDeny",
    }


def test_simulating_a_principal_that_does_not_exist_is_no_such_entity(emu):
    with pytest.raises(ClientError) as refused:
        _decisions(emu, f"arn:aws:iam::{emu.account}:user/nobody", ["s3:GetObject"])
    assert refused.value.response["Error"]["Code"] == "NoSuchEntity"


def test_what_the_simulation_allows_the_emulator_allows_and_what_it_denies_it_refuses(emu):
    keys = iam.create_user(emu.account, "deployer", STATEMENTS)
    decisions = _decisions(emu, keys.arn, ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig"])
    sm = emu.client_as(keys, "sagemaker")
    with pytest.raises(ClientError) as missing:  # allowed: gets as far as "no such endpoint"
        sm.describe_endpoint(EndpointName="nowhere")
    assert decisions["sagemaker:DescribeEndpoint"] == "allowed"
    assert missing.value.response["Error"]["Code"] != "AccessDeniedException"
    with pytest.raises(ClientError) as denied:
        sm.describe_endpoint_config(EndpointConfigName="nowhere")
    assert decisions["sagemaker:DescribeEndpointConfig"] == "explicitDeny"
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
