"""The operator's AWS environment (AWS_PROFILE, the region variables) is read as the AWS CLI reads it, and a wrong
one is said in one line: never a traceback, and never before the command needs AWS."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError, NoRegionError

from sleepwake_cli.deployment import aws_session, stack_unreadable
from sleepwake_cli.main import main
from sleepwake_cli.preflight import _reader
from sleepwake_cli.preflight_template import DeployConfig, read_samconfig

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/sleepwake", "client", "."))}


@pytest.fixture
def aws_config(monkeypatch, tmp_path) -> Path:
    """An AWS config with one profile, `dev`, and nothing else of the machine's AWS environment."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    config.write_text("[profile dev]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    return config


def sleepwake(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """A fresh process: the in-process tests' workers have long since imported (and traced) everything."""
    return subprocess.run(
        [sys.executable, "-m", "sleepwake_cli", *args],
        env=dict(os.environ) | ENV | environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_wrong_aws_profile_leaves_help_working(aws_config):
    run = sleepwake("--help", AWS_PROFILE="nope")
    assert run.returncode == 0, run.stderr
    assert "simulate" in run.stdout and "Traceback" not in run.stderr


def test_a_wrong_aws_profile_is_one_line_naming_the_known_profiles(aws_config):
    run = sleepwake("status", AWS_PROFILE="nope")
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
    assert "AWS profile 'nope' (AWS_PROFILE) not found" in run.stderr and "known: dev" in run.stderr


def test_a_wrong_default_profile_is_named_by_its_own_variable(aws_config, monkeypatch, capsys):
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "old-sso")
    assert main(["status", "--stack-name", "x"]) == 2
    err = capsys.readouterr().err
    assert "AWS profile 'old-sso' (AWS_DEFAULT_PROFILE) not found" in err and "known: dev" in err


def test_a_wrong_default_profile_is_named_even_beside_a_good_aws_profile(aws_config, monkeypatch, capsys):
    # botocore takes AWS_DEFAULT_PROFILE before AWS_PROFILE (configprovider.py `profile`): the bad one is the one used.
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "old-sso")
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert main(["status", "--stack-name", "x"]) == 2
    err = capsys.readouterr().err
    assert "AWS profile 'old-sso' (AWS_DEFAULT_PROFILE) not found" in err and "set AWS_DEFAULT_PROFILE" in err, err


def test_importing_the_layer_does_not_make_an_x_ray_recorder():
    # aws_xray_sdk.core's import builds a botocore client off Lambda: the functions' import makes the Tracer, the
    # CLI's import of the layer (logger, metrics) does not.
    code = (
        "import sys, sleepwake.observability, sleepwake_cli.main;"
        "sleepwake_cli.main.build_parser();"
        "assert 'aws_xray_sdk.core' not in sys.modules, 'x-ray imported';"
        "from sleepwake.observability import tracer;"
        "assert type(tracer).__name__ == 'Tracer' and 'aws_xray_sdk.core' in sys.modules"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], env=dict(os.environ) | ENV, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize(
    ("environment", "operator", "deploy"),
    [
        ({"AWS_REGION": "eu-central-1"}, "eu-central-1", None),
        ({"AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1", "ap-south-1"),
        ({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "ap-south-1"}, "eu-central-1", "ap-south-1"),
        ({"AWS_PROFILE": "dev"}, "eu-west-1", "eu-west-1"),
        ({"AWS_PROFILE": "dev", "AWS_REGION": "eu-central-1"}, "eu-central-1", "eu-west-1"),
    ],
)
def test_the_operator_commands_read_the_region_as_the_aws_cli_v2_and_preflight_as_sam_deploy(
    aws_config, monkeypatch, environment, operator, deploy
):
    # Operator commands: AWS_REGION over AWS_DEFAULT_REGION over the profile's region (the AWS CLI v2 user guide);
    # botocore alone reads AWS_DEFAULT_REGION and the profile only. Preflight: the SAM CLI's session is boto3's
    # default one, given only --region/--profile (samcli/cli/context.py), so AWS_REGION is not in its chain.
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert aws_session(None).region_name == operator
    assert boto3.Session().region_name == deploy
    args = argparse.Namespace(deployment_file=None, profile=None, region=None)
    if deploy is None:
        with pytest.raises(NoRegionError):
            _reader(args, DeployConfig())
    else:
        assert _reader(args, DeployConfig()).region == deploy


def test_samconfig_and_the_region_flag_still_win_over_aws_region_for_preflight(aws_config, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    config = DeployConfig(region="us-west-2")
    assert _reader(argparse.Namespace(deployment_file=None, profile=None, region=None), config).region == "us-west-2"
    flagged = argparse.Namespace(deployment_file=None, profile=None, region="sa-east-1")
    assert _reader(flagged, config).region == "sa-east-1"


def test_preflight_takes_samconfigs_profile_as_sam_deploy_does(aws_config, tmp_path: Path):
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text('version = 0.1\n[default.deploy.parameters]\nprofile = "dev"\n')
    config = read_samconfig(samconfig)
    assert config.profile == "dev"
    assert _reader(argparse.Namespace(deployment_file=None, profile=None, region=None), config).region == "eu-west-1"


def test_aws_region_alone_is_no_region_for_preflight_and_says_sam_deploy_ignores_it(aws_config, monkeypatch, capsys):
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert main(["preflight"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("preflight: You must specify a region") and err.count("\n") == 1
    assert "sam deploy ignores AWS_REGION (eu-central-1)" in err and "AWS_DEFAULT_REGION" in err


def test_a_stack_that_does_not_exist_is_said_not_found_in_its_region(aws_config, monkeypatch, capsys):
    import moto

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():  # CloudFormation's answer as moto gives it: ValidationError "... does not exist"
        assert main(["status", "--stack-name", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stack 'nosuch' not found in eu-west-1") and "--stack-name" in err, err


def test_other_failures_to_read_the_stack_are_not_called_not_found(aws_config, monkeypatch, capsys):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-role lookup off AWS
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["status", "--stack-name", "mine"]) == 2  # no credentials at all
    err = capsys.readouterr().err
    assert "Unable to locate credentials" in err and "not found" not in err, err

    denied = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "User: x is not authorized to perform: DescribeStacks"}},
        "DescribeStacks",
    )
    said = stack_unreadable("mine", "eu-west-1", denied)
    assert said.startswith("cannot read stack 'mine': ") and "not authorized" in said


def test_stack_name_denied_by_the_local_stack_says_it_is_read_from_its_deployment_file(
    emu, aws_config, monkeypatch, capsys
):
    # `emu` first: it sets the process's AWS_* variables and puts them back when it stops, so monkeypatch (which
    # `aws_config` brings) must be undone before that, or it would restore the stopped emulator's URL.
    """After `make local`'s exports, --stack-name asks the emulator's CloudFormation as the operator, whom the local
    stack does not let read it (review-s24 finding 10): say where it is read from, not AccessDenied alone."""
    iam = emu.client("iam")
    iam.create_user(UserName="operator")  # no policy: CloudFormation is not the local operator's to read
    keys = iam.create_access_key(UserName="operator")["AccessKey"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", emu.region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])
    assert main(["status", "--stack-name", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --stack-name nosuch reads the stack from CloudFormation, which the local stack at "
                          f"{emu.endpoint_url} does not let its operator read"), err  # fmt: skip
    assert "--deployment-file" in err and err.count("\n") == 1


def test_samconfigs_profile_the_operator_commands_do_not_use_is_a_warning_naming_both(aws_config, monkeypatch):
    """samconfig.toml's profile is sam deploy's (and preflight's); the operator commands take AWS_PROFILE or the
    default profile, so preflight warns until AWS_PROFILE names the same one."""
    from sleepwake_cli.preflight import _deploy_target, _operator_target
    from sleepwake_cli.preflight_rules_account import deploy_target_checks

    aws_config.write_text("[default]\nregion = us-east-1\n[profile dev]\nregion = eu-west-1\n")
    args = argparse.Namespace(deployment_file=None, profile=None, region=None)
    config = DeployConfig(profile="dev")
    deploy = _deploy_target(args, config, _reader(args, config))
    checks = {check.name: check for check in deploy_target_checks(deploy, _operator_target())}
    assert checks["deploy profile"].detail == (
        "sam deploy uses profile dev (samconfig.toml's profile), the one checked here, while the operator commands "
        "(sleepwake status, wake, sleep, report) use default (the default profile): they never read samconfig.toml"
    )
    assert checks["deploy profile"].fix == "export AWS_PROFILE=dev before the operator commands"
    assert "eu-west-1 (profile dev's region)" in checks["deploy region"].detail
    assert "look in us-east-1 (profile default's region)" in checks["deploy region"].detail

    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert deploy_target_checks(deploy, _operator_target()) == []
