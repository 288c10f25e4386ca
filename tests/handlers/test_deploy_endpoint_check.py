"""The post-deploy custom resource checks the endpoint lets its instances go at 0 copies (adopt mode), says so
in its output and records it for GET /status, without failing the deploy."""

from __future__ import annotations

import io
import json

from tests.conftest import LambdaContext, load_event, load_handler

deploy_warmup = load_handler("deploy_warmup")
wake_api = load_handler("wake_api")


def _deploy(monkeypatch) -> dict:
    monkeypatch.setattr(deploy_warmup, "send", lambda url, response: None)
    return deploy_warmup.handler(load_event("deploy_warmup_create"), LambdaContext())


def _status_warnings() -> list[str]:
    answer = wake_api.handler(load_event("wake_api_get_status"), LambdaContext())
    assert answer["statusCode"] == 200, answer
    return json.loads(answer["body"])["warnings"]


def test_a_deploy_onto_an_endpoint_that_keeps_its_instance_warns_and_status_says_so(stack, monkeypatch):
    stack.component.desired = stack.component.current = 1
    stack.component.min_instance_count = 1
    response = _deploy(monkeypatch)
    assert (response["Status"], response["Data"]["Result"]) == ("SUCCESS", "warm")  # the deploy goes on
    assert "the endpoint keeps its instance at 0 copies: MinInstanceCount is 1" in response["Data"]["Warnings"]
    (warning,) = _status_warnings()
    assert warning.startswith("the endpoint keeps its instance at 0 copies: MinInstanceCount is 1")


def test_a_deploy_that_finds_the_endpoint_fixed_clears_the_warning(stack, monkeypatch):
    stack.component.min_instance_count = 1
    _deploy(monkeypatch)
    assert _status_warnings() != []
    stack.component.min_instance_count = 0
    assert _deploy(monkeypatch)["Data"]["Warnings"] == "none"
    assert _status_warnings() == []


def test_an_endpoint_that_cannot_be_read_is_a_warning_not_a_failed_deploy(stack, monkeypatch):
    def refused(endpoint: str):
        raise PermissionError("AccessDenied: not authorized to perform sagemaker:DescribeEndpoint")

    monkeypatch.setattr(stack.component, "endpoint_instance_scaling", refused)
    response = _deploy(monkeypatch)
    assert response["Status"] == "SUCCESS"
    assert "could not check that sleepwake-endpoint scales its instances to 0" in response["Data"]["Warnings"]
    assert "sagemaker:DescribeEndpoint" in _status_warnings()[0]


def test_the_endpoint_check_leaves_a_running_wake_its_record(stack, monkeypatch):
    from tests.handlers.test_state_machine_steps import start_wake

    op_id = start_wake(stack)
    stack.component.min_instance_count = 1
    _deploy(monkeypatch)
    record = stack.plane.aws.table.get("sleepwake-ic")
    assert (record.state.value, record.op_id) == ("waking", op_id)
    assert len(record.warnings) == 1


def test_the_wake_api_logs_who_called_in_place_of_an_access_log(stack, monkeypatch):
    """The REST API keeps no access log (template.yaml, WakeApi's checkov note): the function logs each caller."""
    from sleepwake.observability import logger

    out = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", out)  # the handler holds the stdout of import time
    wake_api.handler(load_event("wake_api_get_status"), LambdaContext())
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    request = next(line for line in lines if line.get("message") == "request")
    assert request["caller"] == "arn:aws:iam::123456789012:user/product"
    assert (request["source_ip"], request["method"], request["path"]) == ("127.0.0.1", "GET", "/status")
    assert request["correlation_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
