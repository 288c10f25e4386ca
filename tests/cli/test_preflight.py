"""`sleepwake preflight` against the emulated AWS: what an operator learns before `sam deploy`, and that it
changes nothing while finding it out."""

from __future__ import annotations

import io
import json
import socket
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localaws import Emulator
from sleepwake_cli import preflight
from sleepwake_cli.preflight_aws import Reader
from sleepwake_cli.preflight_rules import Check, Status
from sleepwake_cli.preflight_template import DeployConfig
from tests.localaws.conftest import make_endpoint, make_serverless_endpoint, recipe_scaling

READ_PREFIXES = ("Describe", "List", "Get", "Head", "Simulate")
LONG_NAME = "e" * 63  # a legal endpoint name whose `-fallback` is not


def recipe_endpoint(emu: Emulator, endpoint: str, component: str, min_instances: int) -> None:
    """An endpoint and a serving component as a team sets them up by hand, with the given instance minimum."""
    make_endpoint(emu, endpoint, component, copies=1, min_instances=min_instances, max_instances=2)


def model_archive(*, requirements: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        files = {"model.pt": b"torchscript", "code/inference.py": b"def model_fn(model_dir): ...\n"}
        if requirements:
            files["code/requirements.txt"] = b"soxr\n"
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def upload(emu: Emulator, url: str, data: bytes) -> None:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    s3 = emu.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=data)


@pytest.fixture
def session(emu: Emulator) -> boto3.Session:
    return boto3.Session(region_name=emu.region, **_keys(emu))


def _keys(emu: Emulator) -> dict[str, Any]:
    keys = emu.client_keys()
    return {"aws_access_key_id": keys.access_key_id, "aws_secret_access_key": keys.secret_access_key}


@pytest.fixture
def calls(session: boto3.Session) -> Iterator[list[str]]:
    """The name of every AWS operation preflight's clients make (botocore's before-call event)."""
    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    session.events.register("before-call", record)
    yield seen


def run(emu: Emulator, session: boto3.Session, overrides: dict[str, str]) -> dict[str, Check]:
    checks = preflight.run(Reader(session, emu.endpoint_url), DeployConfig(overrides=overrides))
    return {c.name: c for c in checks}


def test_a_broken_adopt_setup_fails_on_each_problem_with_its_fix(emu, session, calls):
    """Minimum 1, AWS's recipe left on the component, a 63-character endpoint name and a missing archive."""
    recipe_endpoint(emu, LONG_NAME, "speech-ic", min_instances=1)
    recipe_scaling(emu, "speech-ic")
    upload(emu, "s3://models/other/model.tar.gz", model_archive())  # the bucket exists, the key does not
    checks = run(
        emu,
        session,
        {
            "EndpointName": LONG_NAME,
            "InferenceComponentName": "speech-ic",
            "ModelDataUrl": "s3://models/speech/model.tar.gz",
        },
    )
    assert checks["endpoint"].status is Status.OK
    assert checks["component"].status is Status.OK
    failed = {name: c for name, c in checks.items() if c.status is Status.FAIL}
    assert {"instance scaling", "scalable target", "scaling policies", "alarms", "fallback name", "archive"} <= set(
        failed
    )
    assert "MinInstanceCount is 1" in failed["instance scaling"].detail
    assert "MinInstanceCount 0" in failed["instance scaling"].fix
    assert "AlreadyExists" in failed["scalable target"].detail
    assert "ExistingScaling=take-over" in failed["scalable target"].fix
    assert "deregister-scalable-target" in failed["scalable target"].fix
    assert "speech-ic-step-scaling (StepScaling)" in failed["scaling policies"].detail
    assert "--policy-name speech-ic-step-scaling" in failed["scaling policies"].fix
    assert "speech-ic-no-capacity" in failed["alarms"].detail
    assert "delete-alarms --alarm-names speech-ic-no-capacity" in failed["alarms"].fix
    assert f"{LONG_NAME}-fallback has 72 characters" in failed["fallback name"].detail
    assert "at most 54 characters" in failed["fallback name"].fix
    assert "does not exist" in failed["archive"].detail
    assert "make model MODEL_S3_URI=s3://models/speech" in failed["archive"].fix
    assert preflight.exit_status(list(checks.values())) == 2
    assert calls, "the hook saw no call"
    assert [c for c in calls if not c.startswith(READ_PREFIXES)] == []


ADOPT_WITH_ARCHIVE = {
    "EndpointName": "speech-endpoint",
    "InferenceComponentName": "speech-ic",
    "ModelDataUrl": "s3://models/speech/model.tar.gz",
}


def test_a_ready_adopt_setup_passes_the_endpoint_scaling_fallback_and_archive_checks(emu, session, calls):
    recipe_endpoint(emu, "speech-endpoint", "speech-ic", min_instances=0)
    upload(emu, "s3://models/speech/model.tar.gz", model_archive())
    checks = run(emu, session, ADOPT_WITH_ARCHIVE)
    for name in ("parameters", "region", "endpoint", "component", "instance scaling", "existing scaling"):
        assert checks[name].status is Status.OK, checks[name]
    for name in ("fallback name", "fallback memory", "keep-warm", "archive", "archive layout"):
        assert checks[name].status is Status.OK, checks[name]
    assert checks["fallback name"].detail == "creates speech-endpoint-fallback (24 of 63 characters)"
    assert [c for c in calls if not c.startswith(READ_PREFIXES)] == []


def test_an_archive_that_installs_at_container_start_fails(emu, session):
    recipe_endpoint(emu, "speech-endpoint", "speech-ic", min_instances=0)
    upload(emu, "s3://models/speech/model.tar.gz", model_archive(requirements=True))
    checks = run(emu, session, ADOPT_WITH_ARCHIVE)
    assert checks["archive layout"].status is Status.FAIL
    assert "code/requirements.txt" in checks["archive layout"].detail


def test_adopting_an_endpoint_that_does_not_exist_fails(emu, session):
    checks = run(emu, session, {"EndpointName": "nowhere", "InferenceComponentName": "nothing"})
    assert checks["endpoint"].status is Status.FAIL
    assert "does not exist" in checks["endpoint"].detail
    assert checks["component"].status is Status.FAIL


def test_the_command_prints_one_json_document_and_exits_2_on_a_failure(emu, capsys, monkeypatch):
    from sleepwake_cli.main import main

    for key, value in _keys(emu).items():
        monkeypatch.setenv(key.upper(), value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint_url)
    status = main(["preflight", "--json", "--region", emu.region, "--parameter-overrides", "EndpointName=nowhere"])
    document = json.loads(capsys.readouterr().out)
    assert status == 2 == document["exit_status"]
    assert document["parameters_from"] == "flags"
    endpoint = next(c for c in document["checks"] if c["name"] == "endpoint")
    assert endpoint["status"] == "fail" and endpoint["fix"]


def test_the_table_names_each_check_and_its_fix(emu, capsys, monkeypatch):
    from sleepwake_cli.main import main

    for key, value in _keys(emu).items():
        monkeypatch.setenv(key.upper(), value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint_url)
    status = main(["preflight", "--region", emu.region, "--parameter-overrides", "EndpointName=nowhere"])
    out = capsys.readouterr().out
    assert status == 2
    assert "FAIL  endpoint" in out
    assert "fix: set EndpointName to the endpoint's exact name" in out
    assert out.rstrip().endswith("not ready: fix the failures")


@pytest.mark.parametrize(("applied", "status"), [(None, Status.OK), (10.0, Status.FAIL)])
def test_the_fallback_needs_room_in_the_accounts_serverless_concurrency_quota(
    emu, session, monkeypatch, applied, status
):
    from localaws import servicequotas

    monkeypatch.setattr(servicequotas.ServiceQuotasSwitches, "applied", applied)
    recipe_endpoint(emu, "speech-endpoint", "speech-ic", min_instances=0)
    make_serverless_endpoint(emu, "another-team", concurrency=6)
    check = run(emu, session, ADOPT_WITH_ARCHIVE | {"FallbackMaxConcurrency": "5"})["serverless quota"]
    assert check.status is status, check
    assert "FallbackMaxConcurrency 5 + 6 on 1 other serverless endpoint(s)" in check.detail
    if applied is None:
        assert "quota 200 (AWS default)" in check.detail
    else:
        assert "quota 10 (applied)" in check.detail
        assert "lower FallbackMaxConcurrency to 4" in check.fix
        assert "--quota-code L-96300102 --desired-value 11" in check.fix


def test_a_deployer_without_the_stacks_permissions_fails_with_the_actions_it_lacks(emu, session):
    from localaws import iam

    reader = iam.create_user(
        emu.account, "reader", [{"Effect": "Allow", "Action": ["*:Describe*", "*:Get*", "*:List*"], "Resource": "*"}]
    )
    recipe_endpoint(emu, "speech-endpoint", "speech-ic", min_instances=0)
    checks = preflight.run(
        Reader(session, emu.endpoint_url),
        DeployConfig(overrides={"EndpointName": "speech-endpoint", "InferenceComponentName": "speech-ic"}),
        principal=reader.arn,
    )
    permissions = next(c for c in checks if c.name == "permissions")
    assert permissions.status is Status.FAIL
    assert permissions.detail.startswith(f"{reader.arn} may not ")
    for action in (
        "cloudformation:CreateChangeSet",
        "lambda:CreateFunction",
        "iam:PassRole",
        "states:CreateStateMachine",
    ):
        assert f"{action} (implicitDeny)" in permissions.detail
    assert "lambda:GetFunction" not in permissions.detail  # a Get*: allowed


def test_what_serverless_excludes_or_refuses_in_the_templates_fallback_fails():
    """The fallback's model and endpoint config as the deploy would send them, judged by SageMaker's request
    constraints and Serverless Inference's feature exclusions (network isolation here, the template's old bug)."""
    from sleepwake_cli.preflight_rules import Plan, fallback_config_checks
    from sleepwake_cli.preflight_template import resolve_parameters, translate, translated

    cfn = translated(preflight.TEMPLATE, "us-east-1", "123456789012", "sleepwake")
    cfn["Resources"]["FallbackModel"]["Properties"]["EnableNetworkIsolation"] = True
    variant = cfn["Resources"]["FallbackEndpointConfig"]["Properties"]["ProductionVariants"][0]
    variant["ServerlessConfig"]["MaxConcurrency"] = 500
    params, _ = resolve_parameters({"DeploymentMode": "create", "ModelDataUrl": "s3://m/model.tar.gz"}, cfn)
    image, invalid, excluded = preflight._fallback_requests(
        translate(cfn, params, "us-east-1", "123456789012", "sleepwake")
    )
    checks = {c.name: c for c in fallback_config_checks(Plan(params), image, invalid, excluded)}
    assert checks["fallback image"].status is Status.OK
    assert image.startswith("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:")
    assert checks["fallback exclusions"].status is Status.FAIL
    assert "network isolation" in checks["fallback exclusions"].detail
    assert checks["fallback memory"].status is Status.FAIL
    assert "serverlessConfig.maxConcurrency' failed to satisfy constraint" in checks["fallback memory"].detail


def test_the_templates_own_fallback_is_what_serverless_accepts():
    from sleepwake_cli.preflight_template import resolve_parameters, translate, translated

    cfn = translated(preflight.TEMPLATE, "us-east-1", "123456789012", "sleepwake")
    params, _ = resolve_parameters({"DeploymentMode": "create", "ModelDataUrl": "s3://m/model.tar.gz"}, cfn)
    _, invalid, excluded = preflight._fallback_requests(
        translate(cfn, params, "us-east-1", "123456789012", "sleepwake")
    )
    assert (invalid, excluded) == ([], [])


def test_with_existing_scaling_take_over_it_says_what_the_deploy_will_do_to_the_recipe(emu, session, calls):
    recipe_endpoint(emu, "speech-endpoint", "speech-ic", min_instances=0)
    recipe_scaling(emu, "speech-ic")
    checks = run(
        emu,
        session,
        {"EndpointName": "speech-endpoint", "InferenceComponentName": "speech-ic", "ExistingScaling": "take-over"},
    )
    assert not {"scalable target", "scaling policies", "alarms"} & set(checks)
    adopted = checks["existing scaling"]
    assert adopted.status is Status.OK
    assert adopted.detail.startswith("ExistingScaling=take-over: the deploy will record speech-ic")
    for step in (
        "detach-alarm speech-ic-no-capacity",
        "delete-policy speech-ic-step-scaling",
        "delete-policy speech-ic-target-tracking",
        "deregister-target inference-component/speech-ic",
    ):
        assert step in adopted.detail
    assert [c for c in calls if not c.startswith(READ_PREFIXES)] == []
    targets = emu.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    assert len(targets["ScalableTargets"]) == 1  # preflight changed nothing


def test_a_deployer_scoped_to_the_stacks_resources_is_told_so_not_failed(emu, session):
    from localaws import iam

    scoped = iam.create_user(
        emu.account,
        "scoped-deployer",
        [
            {"Effect": "Allow", "NotAction": "lambda:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "lambda:*", "Resource": "arn:aws:lambda:*:*:function:sleepwake-*"},
        ],
    )
    checks = preflight.run(
        Reader(session, emu.endpoint_url),
        DeployConfig(overrides={"EndpointName": "speech-endpoint", "InferenceComponentName": "speech-ic"}),
        principal=scoped.arn,
    )
    by_name = {c.name: c for c in checks}
    told = by_name["permissions (scoped)"]
    assert told.status is Status.WARN
    assert "lambda:CreateFunction on arn:aws:lambda:us-east-1:123456789012:function:sleepwake-*" in told.detail
    permissions = by_name["permissions"]
    assert "lambda:CreateFunction" not in permissions.detail
    assert "lambda:PublishLayerVersion (implicitDeny)" in permissions.detail  # a layer is not a function


def test_a_rule_that_raises_is_one_line_and_exit_2_never_the_warnings_code(emu, capsys, monkeypatch):
    """Python exits 1 on an uncaught exception, which is preflight's (and `make preflight`'s passing) warnings code."""
    from sleepwake_cli.main import main

    def broken_rule(plan: Any) -> list[Check]:
        raise KeyError("KeepWarmMode")

    for key, value in _keys(emu).items():
        monkeypatch.setenv(key.upper(), value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint_url)
    monkeypatch.setattr(preflight, "keep_warm_check", broken_rule)
    status = main(["preflight", "--region", emu.region])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    line, _, rest = captured.err.partition("\n")
    assert rest == ""
    assert line.startswith("preflight: could not finish: KeyError: 'KeepWarmMode' (traceback in ")
    kept = line.removesuffix(")").rpartition("traceback in ")[2]
    assert "in broken_rule" in Path(kept).read_text()
    Path(kept).unlink()


def _preflight_on_aws(emu: Any, monkeypatch: Any, capsys: Any, samconfig: Path, **environment: str) -> Any:
    """`sleepwake preflight --json` as on AWS (no deployment file: the region and profile resolved as sam deploy's),
    reading the emulator, with these environment variables set ("" unsets one); its JSON document."""
    from sleepwake_cli.main import main

    for key, value in _keys(emu).items():
        monkeypatch.setenv(key.upper(), value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint_url)
    for name, value in environment.items():
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    main(["preflight", "--json", "--config-file", str(samconfig)])
    return json.loads(capsys.readouterr().out)


def test_aws_region_naming_another_region_than_sam_deploys_to_is_a_warning(emu, capsys, monkeypatch, tmp_path):
    """AWS_REGION=eu-west-1 with AWS_DEFAULT_REGION at the stack's region: `sam deploy` goes to the latter (it never
    reads AWS_REGION), so preflight checks that one and says where the deploy goes."""
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text("version = 0.1\n")
    document = _preflight_on_aws(
        emu, monkeypatch, capsys, samconfig, AWS_DEFAULT_REGION=emu.region, AWS_REGION="eu-west-1"
    )
    assert document["region"] == emu.region != "eu-west-1"
    (check,) = (c for c in document["checks"] if c["name"] == "deploy region")
    assert check["status"] == "warn"
    assert check["detail"] == (
        f"sam deploy ignores AWS_REGION (eu-west-1); it deploys to {emu.region} (AWS_DEFAULT_REGION), the region "
        "checked here"
    )
    assert "export AWS_DEFAULT_REGION=eu-west-1" in check["fix"]


def test_samconfig_region_the_operator_commands_do_not_read_is_a_warning_naming_both(
    emu, capsys, monkeypatch, tmp_path
):
    """samconfig.toml's region is where `sam deploy` goes; the operator commands never read the file and look where
    AWS_DEFAULT_REGION says: `sleepwake status` would not find the stack, so preflight says so, naming both."""
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(f'version = 0.1\n[default.deploy.parameters]\nregion = "{emu.region}"\n')
    document = _preflight_on_aws(emu, monkeypatch, capsys, samconfig, AWS_DEFAULT_REGION="eu-west-1", AWS_REGION="")
    assert document["region"] == emu.region != "eu-west-1"
    (check,) = (c for c in document["checks"] if c["name"] == "deploy region")
    assert check["status"] == "warn"
    assert check["detail"] == (
        f"sam deploy deploys to {emu.region} (samconfig.toml's region), the region checked here, while the operator "
        "commands (sleepwake status, wake, sleep, report) look in eu-west-1 (AWS_DEFAULT_REGION): they never read "
        "samconfig.toml"
    )
    assert check["fix"] == (
        f"for the operator commands to look in {emu.region}: export AWS_REGION={emu.region}; to deploy to eu-west-1 "
        'instead: set region = "eu-west-1" in samconfig.toml and run preflight again'
    )

    document = _preflight_on_aws(emu, monkeypatch, capsys, samconfig, AWS_REGION=emu.region)  # the fix: both agree
    names = [c["name"] for c in document["checks"]]
    assert "region" in names and "deploy region" not in names and "deploy profile" not in names


@pytest.mark.parametrize("where", ["credentials AWS refuses", "no route to AWS"])
def test_credentials_aws_refuses_or_no_route_to_it_cannot_pass_as_warnings(emu, capsys, monkeypatch, where):
    """GetCallerIdentity needs no permission, so when it fails nothing else can be read: one line and exit 2, never
    `deployable, read the warnings` (exit 1, which `make preflight` passes) over reads that all failed."""
    from sleepwake_cli.main import main

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFAKEFAKEFAKEFAKE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fake")
    if where == "no route to AWS":
        with socket.socket() as probe:  # a loopback port nothing listens on: refused at once
            probe.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    else:
        url = emu.endpoint_url
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    status = main(["preflight", "--region", emu.region])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == "", captured.out
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("preflight: could not finish: could not read the caller's identity (sts:GetCall")
    said = "InvalidClientTokenId" if where == "credentials AWS refuses" else "EndpointConnectionError"
    assert said in captured.err and "aws sts get-caller-identity" in captured.err


@pytest.mark.parametrize(
    ("code", "status"), [("AccessDeniedException", Status.WARN), ("ThrottlingException", Status.FAIL)]
)
def test_a_read_aws_refused_for_another_reason_than_a_denial_fails_the_run(emu, session, monkeypatch, code, status):
    """A denied read is a warning naming the grant (the deploy runs with other rights); any other failed read means
    the check could not finish, which exits 2 (docs/deploy.md step 4)."""
    from botocore.exceptions import ClientError

    from sleepwake_cli.preflight_aws import ReadError
    from sleepwake_cli.preflight_rules import exit_status

    def refused(self: Reader, name: str) -> None:
        error = ClientError({"Error": {"Code": code, "Message": "said AWS"}}, "DescribeEndpoint")
        raise ReadError("sagemaker:DescribeEndpoint", error)

    monkeypatch.setattr(Reader, "endpoint", refused)
    checks = preflight.run(Reader(session, emu.endpoint_url), DeployConfig(overrides=ADOPT_WITH_ARCHIVE))
    endpoint = next(c for c in checks if c.name == "endpoint")
    assert (
        endpoint.status is status and endpoint.detail == f"could not read: sagemaker:DescribeEndpoint: {code}: said AWS"
    )
    if status is Status.FAIL:
        assert exit_status(checks) == 2 and endpoint.fix == "run preflight again when AWS answers"
    else:
        assert endpoint.fix == "grant sagemaker:DescribeEndpoint to whoever runs preflight"
