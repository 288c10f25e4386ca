"""The product's client: component first, the fallback on no capacity, a signed and rate-limited /wake."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from sleepwake_client import FallbackFailed, SleepwakeClient, is_no_capacity
from sleepwake_client import client as client_module
from sleepwake_client.client import region_from_url

NO_CAPACITY = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be in-progress "
    "(if configured) or try to increase the capacity by invoking UpdateInferenceComponentRuntimeConfig API."
)
AUDIO = b"RIFF....WAVE"


def answer(body: bytes) -> dict[str, Any]:
    return {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"}


@pytest.fixture
def session() -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="AKIDPRODUCT", aws_secret_access_key="s3cret", region_name="eu-west-1"
    )


class WakeApi:
    """A stand-in for the wake API that records what it was sent."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.seen = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                api.calls.append({"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)})
                self.send_response(202)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
                api.seen.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def wake_api() -> Iterator[WakeApi]:
    api = WakeApi()
    yield api
    api.close()


def make_client(
    session: boto3.session.Session, wake_url: str | None, now: list[float] | None = None
) -> SleepwakeClient:
    runtime = session.client("sagemaker-runtime")
    clock = now if now is not None else [0.0]
    return SleepwakeClient(
        endpoint_name="sleepwake-endpoint",
        inference_component_name="sleepwake-ic",
        fallback_endpoint_name="sleepwake-fallback",
        wake_url=wake_url,
        session=session,
        runtime_client=runtime,
        monotonic=lambda: clock[0],
        send_in_background=False,
    )


def expect_ic(stubber: Stubber, *, error: tuple[str, str] | None = None, body: bytes = b'{"speech": true}') -> None:
    params = {
        "EndpointName": "sleepwake-endpoint",
        "InferenceComponentName": "sleepwake-ic",
        "Body": AUDIO,
        "ContentType": "audio/wav",
        "Accept": "application/json",
    }
    if error:
        stubber.add_client_error(
            "invoke_endpoint",
            service_error_code=error[0],
            service_message=error[1],
            http_status_code=400,
            expected_params=params,
        )
    else:
        stubber.add_response("invoke_endpoint", answer(body), params)


def expect_fallback(stubber: Stubber, *, body: bytes = b'{"speech": true, "cpu": true}', fail: bool = False) -> None:
    params = {
        "EndpointName": "sleepwake-fallback",
        "Body": AUDIO,
        "ContentType": "audio/wav",
        "Accept": "application/json",
    }
    if fail:
        stubber.add_client_error(
            "invoke_endpoint",
            service_error_code="ModelError",
            service_message="worker died",
            http_status_code=424,
            expected_params=params,
        )
    else:
        stubber.add_response("invoke_endpoint", answer(body), params)


def test_the_component_answers_when_it_has_a_copy(session: boto3.session.Session) -> None:
    client = make_client(session, None)
    with Stubber(client.runtime) as stubber:
        expect_ic(stubber)
        result = client.invoke(AUDIO)

    assert (result.body, result.served_by, result.wake_signalled) == (b'{"speech": true}', "component", False)


def test_no_capacity_is_answered_by_the_fallback_and_signals_a_signed_wake(
    session: boto3.session.Session, wake_api: WakeApi
) -> None:
    client = make_client(session, wake_api.url)
    with Stubber(client.runtime) as stubber:
        expect_ic(stubber, error=("ValidationError", NO_CAPACITY))
        expect_fallback(stubber)
        result = client.invoke(AUDIO)

    assert (result.served_by, result.wake_signalled) == ("fallback", True)
    assert result.body == b'{"speech": true, "cpu": true}'
    [call] = wake_api.calls
    assert call["path"] == "/wake"
    assert json.loads(call["body"]) == {"reason": "a request met no capacity"}
    auth = call["headers"]["Authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDPRODUCT/")
    assert "/eu-west-1/execute-api/aws4_request" in auth


def test_an_ordinary_bad_request_is_raised_and_never_sent_to_the_fallback(session: boto3.session.Session) -> None:
    client = make_client(session, None)
    with Stubber(client.runtime) as stubber:
        expect_ic(stubber, error=("ValidationError", "Inference Component sleepwake-ic not found for endpoint x."))
        with pytest.raises(ClientError) as raised:
            client.invoke(AUDIO)
        stubber.assert_no_pending_responses()

    assert not is_no_capacity(raised.value)


def test_wake_signals_are_sent_at_most_once_per_interval(session: boto3.session.Session, wake_api: WakeApi) -> None:
    now = [100.0]
    client = make_client(session, wake_api.url, now)
    signalled = []
    with Stubber(client.runtime) as stubber:
        for moment in (100.0, 130.0, 159.0, 161.0):
            now[0] = moment
            expect_ic(stubber, error=("ValidationError", NO_CAPACITY))
            expect_fallback(stubber)
            signalled.append(client.invoke(AUDIO).wake_signalled)

    assert signalled == [True, False, False, True]
    assert len(wake_api.calls) == 2


def test_a_failing_fallback_is_a_clear_error_and_the_wake_still_goes_out(
    session: boto3.session.Session, wake_api: WakeApi
) -> None:
    client = make_client(session, wake_api.url)
    with Stubber(client.runtime) as stubber:
        expect_ic(stubber, error=("ValidationError", NO_CAPACITY))
        expect_fallback(stubber, fail=True)
        with pytest.raises(FallbackFailed, match=r"asleep \(a wake was signalled\) and the fallback endpoint failed"):
            client.invoke(AUDIO)

    assert len(wake_api.calls) == 1


def test_an_unreachable_wake_api_is_logged_and_the_user_still_gets_the_fallback_answer(
    session: boto3.session.Session, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(session, "http://127.0.0.1:9")  # discard port: nothing listens
    with Stubber(client.runtime) as stubber, caplog.at_level(logging.WARNING, logger="sleepwake_client"):
        expect_ic(stubber, error=("ValidationError", NO_CAPACITY))
        expect_fallback(stubber)
        result = client.invoke(AUDIO)

    assert (result.served_by, result.wake_signalled) == ("fallback", False)
    assert "the no-capacity alarm still wakes it" in caplog.text


def test_without_a_fallback_the_no_capacity_error_reaches_the_caller(session: boto3.session.Session) -> None:
    client = make_client(session, None)
    client.fallback_endpoint_name = None
    with Stubber(client.runtime) as stubber:
        expect_ic(stubber, error=("ValidationError", NO_CAPACITY))
        with pytest.raises(ClientError) as raised:
            client.invoke(AUDIO)

    assert is_no_capacity(raised.value)


class _Answer:
    status = 202

    def read(self, n: int = -1) -> bytes:
        return b"{}"

    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def test_the_wake_is_signed_for_the_region_its_url_names_not_the_sessions(
    session: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """API Gateway refuses a signature scoped to another region: a product whose session is in eu-west-1
    calling a wake API in us-west-2 must sign for us-west-2."""
    sent: list[Any] = []

    def urlopen(request: Any, timeout: float) -> _Answer:
        sent.append(request)
        return _Answer()

    monkeypatch.setattr(client_module.urllib.request, "urlopen", urlopen)
    client = make_client(session, "https://a1b2c3d4e5.execute-api.us-west-2.amazonaws.com/Prod")
    assert client.signal_wake()
    [request] = sent
    assert request.full_url == "https://a1b2c3d4e5.execute-api.us-west-2.amazonaws.com/Prod/wake"
    assert "/us-west-2/execute-api/aws4_request" in request.get_header("Authorization")


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://a1b2c3d4e5.execute-api.us-west-2.amazonaws.com/Prod", "us-west-2"),
        ("https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/Prod", "cn-north-1"),
        ("https://a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.eu-central-1.vpce.amazonaws.com/Prod", "eu-central-1"),
        ("https://wake.example.com/Prod", None),  # a custom domain names no region: the session's is used
        ("http://127.0.0.1:3000", None),
    ],
)
def test_the_region_is_read_from_an_execute_api_url(url: str, region: str | None) -> None:
    assert region_from_url(url) == region


def timing_client(session: boto3.session.Session, ticks: list[float], lines: io.StringIO) -> SleepwakeClient:
    """A client that writes each call's wait to `lines`, its clock reading `ticks` in turn."""
    clock = iter(ticks)
    return SleepwakeClient(
        endpoint_name="sleepwake-endpoint",
        inference_component_name="sleepwake-ic",
        fallback_endpoint_name="sleepwake-fallback",
        session=session,
        runtime_client=session.client("sagemaker-runtime"),
        monotonic=lambda: next(clock),
        answer_metrics=lines,
    )


def test_each_answer_writes_what_the_user_waited_as_an_embedded_metric_a_cold_fallback_included(
    session: boto3.session.Session,
) -> None:
    """The line CloudWatch Logs turns into Sleepwake/AnswerWaitSeconds (read here by the local stack's reader of
    the embedded metric format), from the call to the answer on the client's clock: the no-capacity answer and
    the fallback's cold start are in it, which ModelLatency leaves out."""
    from localaws.cloudwatch_emf import metrics_of
    from sleepwake.core.report_waits import ANSWER_METRIC

    lines = io.StringIO()
    client = timing_client(session, [100.0, 100.2, 200.0, 214.5], lines)  # a warm answer, then a cold fallback's
    with Stubber(client.runtime) as stubber:
        expect_ic(stubber)
        expect_ic(stubber, error=("ValidationError", NO_CAPACITY))
        expect_fallback(stubber)
        assert [client.invoke(AUDIO).served_by for _ in range(2)] == ["component", "fallback"]

    data = [metrics_of(line) for line in lines.getvalue().splitlines()]
    component = [{"Name": "InferenceComponentName", "Value": "sleepwake-ic"}]
    assert [d[0][:4] for d in data] == [
        ("Sleepwake", ANSWER_METRIC, [pytest.approx(0.2)], component),
        ("Sleepwake", ANSWER_METRIC, [14.5], component),
    ]
    assert [d[1][3][1] for d in data] == [
        {"Name": "ServedBy", "Value": "component"},
        {"Name": "ServedBy", "Value": "fallback"},
    ]


def test_a_call_that_fails_writes_its_wait_too_as_failed(session: boto3.session.Session) -> None:
    """The worst waits are the failed ones: no capacity, then a cold fallback that failed after 25 s. Left out,
    the report's answers over 3 s and the dashboard's share within 3 s would count successes only."""
    from localaws.cloudwatch_emf import metrics_of

    lines = io.StringIO()
    client = timing_client(session, [0.0, 25.0, 30.0, 30.1], lines)  # a fallback failing after 25 s, then a refusal
    with Stubber(client.runtime) as stubber:
        expect_ic(stubber, error=("ValidationError", NO_CAPACITY))
        expect_fallback(stubber, fail=True)
        expect_ic(stubber, error=("ValidationError", "Content type audio/wav is not supported"))
        with pytest.raises(FallbackFailed):
            client.invoke(AUDIO)
        with pytest.raises(ClientError):
            client.invoke(AUDIO)

    data = [metrics_of(line) for line in lines.getvalue().splitlines()]
    assert [(d[0][2], d[1][3][1]["Value"]) for d in data] == [
        ([25.0], "failed"),
        ([pytest.approx(0.1)], "failed"),
    ]


def test_without_a_stream_for_them_no_answer_metric_is_written(
    session: boto3.session.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(session, None)
    with Stubber(client.runtime) as stubber:
        expect_ic(stubber)
        client.invoke(AUDIO)
    assert capsys.readouterr().out == ""


def test_the_stack_outputs_are_taken_as_describe_stacks_gives_them_or_as_a_mapping(
    session: boto3.session.Session,
) -> None:
    outputs = {
        "EndpointName": "ep",
        "InferenceComponentName": "ic",
        "FallbackEndpointName": "ep-fallback",
        "WakeApiUrl": "https://abc.execute-api.eu-west-1.amazonaws.com/Prod",
        "DeployWarnings": "none",  # the stack's other outputs are ignored
    }
    listed = [{"OutputKey": k, "OutputValue": v, "Description": "..."} for k, v in outputs.items()]
    for given in (outputs, listed):
        client = SleepwakeClient.from_outputs(given, session=session)
        assert (client.endpoint_name, client.inference_component_name, client.fallback_endpoint_name) == (
            "ep",
            "ic",
            "ep-fallback",
        )
        assert client.wake_url == outputs["WakeApiUrl"]


def test_outputs_without_the_component_say_which_are_missing_where_they_come_from_and_what_was_given(
    session: boto3.session.Session,
) -> None:
    # Another stack's outputs, listed as DescribeStacks gives them: both names the client needs are missing.
    other = [{"OutputKey": "BucketName", "OutputValue": "b"}, {"OutputKey": "FallbackEndpointName", "OutputValue": ""}]
    with pytest.raises(ValueError) as raised:
        SleepwakeClient.from_outputs(other, session=session)
    assert str(raised.value) == (
        "stack outputs lack EndpointName and InferenceComponentName, which the sleepwake stack's Outputs "
        '(aws cloudformation describe-stacks --query "Stacks[0].Outputs") give; got: BucketName, FallbackEndpointName'
    )
    # One missing or empty: only that one is named.
    with pytest.raises(ValueError, match=r"lack InferenceComponentName, which .*; got: EndpointName, Inference"):
        SleepwakeClient.from_outputs({"EndpointName": "ep", "InferenceComponentName": ""}, session=session)
    # The whole stack DescribeStacks gives, not its Outputs: said so.
    stack = {"StackName": "sleepwake", "StackStatus": "CREATE_COMPLETE", "Outputs": other}
    with pytest.raises(ValueError, match=r"got: Outputs, StackName, StackStatus \(that is a DescribeStacks stack: "):
        SleepwakeClient.from_outputs(stack, session=session)


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ('{"EndpointName": "ep"}', "not str (parse JSON first)"),
        (None, "not NoneType"),
        ([{"OutputKey": "EndpointName"}], "item 0 is not an output with OutputKey and OutputValue"),
        (["EndpointName"], "item 0 is not an output with OutputKey and OutputValue: 'EndpointName'"),
    ],
    ids=["JSON text", "None", "an item without its value", "a list of names"],
)
def test_outputs_of_another_shape_are_a_value_error_saying_what_was_given(
    session: boto3.session.Session, given: Any, said: str
) -> None:
    with pytest.raises(ValueError, match=r"^stack outputs") as raised:
        SleepwakeClient.from_outputs(given, session=session)
    assert said in str(raised.value)


def test_the_outputs_the_client_reads_are_the_stacks_and_both_readmes_name_them() -> None:
    from pathlib import Path

    from sleepwake_cli.deployment import load_template

    root = Path(__file__).resolve().parents[2]
    read = (*client_module.REQUIRED_OUTPUTS, "FallbackEndpointName", "WakeApiUrl")
    assert set(read) <= set(load_template()["Outputs"])
    readme = " ".join((root / "README.md").read_text().split())
    outputs_line = readme[readme.index("Outputs: ") :].split("`DashboardName`")[0]
    client_readme = (root / "client/README.md").read_text()
    assert [name for name in read if f"`{name}`" not in outputs_line or f"`{name}`" not in client_readme] == []


def test_the_client_installs_as_its_own_package_with_its_type_marks(tmp_path) -> None:
    # What docs/fallback.md tells a product to run (`pip install ./client`), offline: build the wheel from a copy
    # (the build writes beside its sources) and look inside.
    import shutil
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    source = shutil.copytree(Path(__file__).resolve().parents[2] / "client", tmp_path / "client")
    offline = ["--no-deps", "--no-build-isolation", "--no-index", "-q"]
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", *offline, "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("sleepwake_client-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"sleepwake_client/client.py", "sleepwake_client/answer_metric.py", "sleepwake_client/py.typed"} <= names
    assert not any(name.startswith(("sleepwake/", "sleepwake_cli/", "tests/")) for name in names)
    # client/README.md is the package's description (what pip show and an index display).
    (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    assert "SleepwakeClient.from_outputs" in zipfile.ZipFile(wheel).read(metadata).decode()
