"""IAM on the local stack, end to end: the wake API authenticates callers as API Gateway with AWS_IAM does,
and the control plane's roles are exactly what lets it work."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localaws import iam, iam_wire
from localaws.local_stack import LocalStack
from tests.e2e.conftest import sleep_now
from tests.stacks import as_deployed, local_stack

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture(scope="module")
def deployed() -> Iterator[LocalStack]:
    with local_stack(jump=True, shared=True) as stack:
        yield stack


@pytest.fixture
def local(deployed: LocalStack) -> Iterator[LocalStack]:
    """The module's stack as deployed: what a test changes (a wake, a role's policy) is put back for the next
    one (tests/stacks.py)."""
    with as_deployed(deployed) as stack:
        yield stack


def product_role(local: LocalStack, name: str, statements: list[dict[str, Any]]) -> iam.Keys:
    """A session of a product role `name` that has only `statements`."""
    arn = iam.create_role(local.emu.account, name, statements, TRUST)
    return iam.SESSIONS.keys(local.emu.account, arn, "product-backend")


def drop_statement(local: LocalStack, role_logical_id: str, sid: str) -> Callable[[], None]:
    """Remove the statement `sid` from an inline policy of a template role (as an edited template would);
    returns what puts it back."""
    backend = iam._iam(local.emu.account)
    role = str(local.stack.ref(role_logical_id)) if local.stack else ""
    for name in backend.list_role_policies(role):
        _, raw = backend.get_role_policy(role, name)
        document = json.loads(raw) if isinstance(raw, str) else raw
        kept = [st for st in document["Statement"] if st.get("Sid") != sid]
        if len(kept) != len(document["Statement"]):
            backend.put_role_policy(role, name, json.dumps({**document, "Statement": kept}))
            return lambda: backend.put_role_policy(role, name, json.dumps(document))
    raise AssertionError(f"{role_logical_id} has no statement {sid}")


def test_a_product_role_with_only_execute_api_invoke_gets_its_202(local: LocalStack) -> None:
    sleep_now(local)
    keys = product_role(
        local,
        "product-granted",
        [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": local.outputs["WakeApiInvokeArn"]}],
    )
    code, body = local.http("POST", "/wake", {"reason": "practice screen opened"}, keys=keys)
    assert code == 202, body
    assert body["state"] == "waking"
    code, status = local.http("GET", "/status", keys=keys)
    assert code == 200 and status["state"] in {"waking", "ready"}
    local.wait_for_state("ready", timeout=900)


def test_a_role_without_execute_api_invoke_is_refused_with_api_gateways_message(local: LocalStack) -> None:
    keys = product_role(
        local, "product-not-granted", [{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": "*"}]
    )
    code, body = local.http("POST", "/wake", {"reason": "no grant"}, keys=keys)
    method = local.stack.method_arn("POST", "/wake") if local.stack else ""
    assert code == 403
    assert body == {
        "Message": f"User: {keys.arn} is not authorized to perform: execute-api:Invoke on resource: {method}"
    }


def test_an_unsigned_call_gets_missing_authentication_token(local: LocalStack) -> None:
    assert local.http("POST", "/wake", {"reason": "anonymous"}, keys=False) == (
        403,
        {"message": "Missing Authentication Token"},
    )
    assert local.http("GET", "/status", keys=False)[0] == 403


def test_a_wrong_secret_is_refused_as_a_signature_mismatch(local: LocalStack) -> None:
    assert local.operator_keys
    wrong = iam.Keys(local.operator_keys.access_key_id, "not-the-secret")
    code, body = local.http("GET", "/status", keys=wrong)
    assert code == 403
    assert body["message"].startswith(iam_wire.SIGNATURE_MISMATCH)
    unknown = iam.Keys("AKIAUNKNOWNKEY000000", "whatever")
    assert local.http("GET", "/status", keys=unknown) == (
        403,
        {"message": "The security token included in the request is invalid."},
    )


def signed_for(local: LocalStack, region: str, service: str) -> tuple[int, Any]:
    """GET /status signed with the operator's keys for another credential scope."""
    import urllib.error
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    assert local.operator_keys
    keys = local.operator_keys
    request = AWSRequest(method="GET", url=f"{local.api_url}/status", data=b"")
    SigV4Auth(Credentials(keys.access_key_id, keys.secret_access_key), service, region).add_auth(request)
    sent = urllib.request.Request(request.url, headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(sent, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_signature_scoped_to_another_region_or_service_is_refused_as_api_gateway_does(local: LocalStack) -> None:
    assert signed_for(local, "us-east-1", "execute-api")[0] == 200
    assert signed_for(local, "eu-west-1", "execute-api") == (
        403,
        {"message": "Credential should be scoped to a valid region, not 'eu-west-1'. "},
    )
    assert signed_for(local, "us-east-1", "sagemaker") == (
        403,
        {"message": "Credential should be scoped to correct service: 'execute-api'. "},
    )
    code, body = signed_for(local, "eu-west-1", "lambda")
    assert code == 403 and body["message"] == (
        "Credential should be scoped to a valid region, not 'eu-west-1'. "
        "Credential should be scoped to correct service: 'execute-api'. "
    )


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_with_aws_sigv4_and_the_operators_keys_gets_the_status(local: LocalStack) -> None:
    assert local.operator_keys
    keys = local.operator_keys
    answer = subprocess.run(
        [
            "curl",
            "-s",
            "--aws-sigv4",
            "aws:amz:us-east-1:execute-api",
            "--user",
            f"{keys.access_key_id}:{keys.secret_access_key}",
            f"{local.api_url}/status",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert {"state", "current_copies", "desired_copies"} <= set(json.loads(answer.stdout))  # the /status document


def test_a_wake_whose_role_may_not_move_min_capacity_fails_with_access_denied(local: LocalStack) -> None:
    # (Not SetTheCopyCount: raising MinCapacity already brings the copy up through autoscaling's clamp, and a
    # refused Set Copy Count then follows that update, so the wake still succeeds; the first write must fail.)
    sleep_now(local)
    restore = drop_statement(local, "WakeStateMachineRole", "MoveMinCapacity")
    try:
        failed_wake_is_access_denied(local)
    finally:
        restore()


def failed_wake_is_access_denied(local: LocalStack) -> None:
    code, body = local.wake(reason="a therapist arrived")
    assert code == 202, body
    status = local.wait_for_state("failed", timeout=1800)
    # Step Functions names an error the API model does not declare after the service (AccessDenied is one).
    assert str(status["last_error"]).startswith("ApplicationAutoScaling.ApplicationAutoScalingException: User: "), (
        status
    )
    execution = local.emu.wait_for_execution(body["execution"], timeout=600)
    assert execution["status"] == "FAILED"
    history = local.emu.client("stepfunctions").get_execution_history(executionArn=body["execution"])["events"]
    causes = " ".join(str(e.get("taskFailedEventDetails", {}).get("cause", "")) for e in history)
    assert "is not authorized to perform: application-autoscaling:RegisterScalableTarget" in causes, causes[:500]
