"""What CloudFormation receives after the SAM transform (run in-process, as the local stack does): the checks
that only hold on the translated template, where SAM's defaults show."""

from __future__ import annotations

from typing import Any

import pytest

from localaws.stack import translate
from tests.conftest import ROOT

CALLER_CREDENTIALS = "arn:aws:iam::*:user/*"  # SAM's CALLER_CREDENTIALS (samtranslator/swagger/swagger.py)


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translate(ROOT / "template.yaml")


def _integrations(cfn: dict[str, Any]):
    for logical, resource in cfn["Resources"].items():
        if resource["Type"] != "AWS::ApiGateway::RestApi":
            continue
        for path, methods in resource["Properties"]["Body"]["paths"].items():
            for method, spec in methods.items():
                yield logical, path, method, spec["x-amazon-apigateway-integration"]


def test_the_wake_api_invokes_its_function_without_the_callers_credentials(cfn):
    integrations = list(_integrations(cfn))
    assert {path for _, path, _, _ in integrations} >= {"/wake", "/status"}
    with_credentials = [
        (path, method, integration["credentials"])
        for _, path, method, integration in integrations
        if "credentials" in integration
    ]
    # No credentials at all: a product role granted only execute-api:Invoke works, from any account.
    assert with_credentials == []
    assert not any(CALLER_CREDENTIALS in str(i) for *_, i in integrations)


def test_api_gateway_may_invoke_the_wake_function_only_from_this_api(cfn):
    """With no invoke role, API Gateway calls the function under its resource policy: SAM adds one Lambda
    permission per route, each scoped to this API's ARN."""
    permissions = [
        r["Properties"]
        for r in cfn["Resources"].values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["FunctionName"] == {"Ref": "WakeApiFunction"}
    ]
    assert len(permissions) == 3  # /wake, /status and the catch-all
    for permission in permissions:
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert permission["Action"] == "lambda:InvokeFunction"
        text, variables = permission["SourceArn"]["Fn::Sub"]
        assert text.startswith("arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/")
        assert variables["__ApiId__"] == {"Ref": "WakeApi"}
