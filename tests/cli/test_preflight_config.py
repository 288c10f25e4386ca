"""Which parameters `sleepwake preflight` checks: samconfig.toml's parameter_overrides as `sam deploy` reads them,
then the flags, over the template's defaults; a bad one is a one-line error and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from sleepwake_cli.main import main
from sleepwake_cli.preflight_rules import Status, parameter_checks
from sleepwake_cli.preflight_template import ConfigError, parse_overrides, read_samconfig, resolve_parameters


def test_overrides_are_read_in_sams_forms():
    assert parse_overrides('EndpointName=speech-prod ModelDataUrl="s3://b/model a.tar.gz"') == {
        "EndpointName": "speech-prod",
        "ModelDataUrl": "s3://b/model a.tar.gz",
    }
    assert parse_overrides(["EndpointName=a", "InferenceComponentName=b"]) == {
        "EndpointName": "a",
        "InferenceComponentName": "b",
    }
    assert parse_overrides("ParameterKey=EndpointName,ParameterValue=c") == {"EndpointName": "c"}
    with pytest.raises(ConfigError, match="'EndpointName' is not Key=Value"):
        parse_overrides("EndpointName")


def test_samconfig_deploy_section_gives_stack_region_and_overrides(tmp_path: Path):
    path = tmp_path / "samconfig.toml"
    path.write_text(
        'version = 0.1\n[prod.global.parameters]\nstack_name = "speech-sleepwake"\n'
        '[prod.deploy.parameters]\nregion = "eu-west-1"\nparameter_overrides = "EndpointName=speech-prod"\n'
    )
    config = read_samconfig(path, "prod")
    assert (config.stack_name, config.region, config.overrides) == (
        "speech-sleepwake",
        "eu-west-1",
        {"EndpointName": "speech-prod"},
    )
    assert config.source == "samconfig.toml [prod]"
    assert read_samconfig(path, "default").overrides == {}
    assert read_samconfig(tmp_path / "missing.toml").source == "template defaults"


def test_the_templates_constraints_fail_before_anything_is_read():
    template = {
        "Parameters": {
            "EndpointName": {"Type": "String", "Default": "e", "MaxLength": 54},
            "FallbackMaxConcurrency": {"Type": "Number", "Default": "5", "MinValue": 1, "MaxValue": 200},
            "DeploymentMode": {"Type": "String", "Default": "adopt", "AllowedValues": ["adopt", "create"]},
        }
    }
    params, unknown = resolve_parameters(
        {"EndpointName": "e" * 63, "FallbackMaxConcurrency": "500", "DeploymentMode": "make", "Typo": "x"}, template
    )
    (check,) = parameter_checks(params, template["Parameters"], unknown)
    assert check.status is Status.FAIL
    for problem in (
        "unknown parameter Typo",
        "EndpointName has 63 characters, more than its MaxLength 54",
        "FallbackMaxConcurrency=500 is above its MaxValue 200",
        "DeploymentMode='make' is not one of ['adopt', 'create']",
    ):
        assert problem in check.detail


def test_a_malformed_override_is_one_line_and_exit_2(capsys):
    assert main(["preflight", "--region", "us-east-1", "--parameter-overrides", "EndpointName"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "preflight: parameter override 'EndpointName' is not Key=Value\n"


def test_an_unreadable_samconfig_is_one_line_and_exit_2(capsys, tmp_path: Path):
    bad = tmp_path / "samconfig.toml"
    bad.write_text("[default.deploy.parameters\n")
    assert main(["preflight", "--region", "us-east-1", "--config-file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"preflight: {bad}: ") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--template", "/nonexist.yaml"], "preflight: template /nonexist.yaml: No such file or directory\n"),
        (["--template", "/"], "preflight: template /: Is a directory\n"),
        (
            ["--config-file", "/nonexist.toml"],
            "preflight: config file /nonexist.toml does not exist or could not be read\n",
        ),
    ],
)
def test_a_template_or_config_file_that_is_not_there_is_one_line_and_exit_2(capsys, flags, said):
    assert main(["preflight", "--region", "us-east-1", *flags]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", said)


def test_an_environment_samconfig_lacks_is_one_line_and_exit_2(capsys, tmp_path: Path):
    """The SAM CLI would quietly use none of the file's settings: preflight would check other parameters than
    the operator meant."""
    path = tmp_path / "samconfig.toml"
    path.write_text('version = 0.1\n[prod.deploy.parameters]\nparameter_overrides = "EndpointName=speech-prod"\n')
    assert main(["preflight", "--region", "us-east-1", "--config-file", str(path), "--config-env", "nope"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"preflight: {path} has no environment [nope] (it has: prod); sam deploy --config-env nope would use none "
        "of its settings\n"
    )
    assert read_samconfig(path, "default").source == "template defaults"  # `default` unset: as SAM, no settings


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("# notes\n```\n", " is not YAML: found character '`' that cannot start any token (line 2)"),
        ("- a\n- b\n", " is not a CloudFormation template (not a mapping)"),
        ("Parameters: {}\n", ": the SAM transform refuses it: Structure of the SAM template is invalid. 'Resources'"),
        ("Resources: {T: {Type: AWS::SNS::Topic}}\n", " declares no Parameters: not sleepwake's template"),
    ],
)
def test_a_template_that_is_not_sleepwakes_is_a_config_error(tmp_path: Path, text: str, said: str):
    from sleepwake_cli.preflight_template import translated

    template = tmp_path / "template.yaml"
    template.write_text(text)
    with pytest.raises(ConfigError) as raised:
        translated(template, "us-east-1", "123456789012", "sleepwake")
    assert str(raised.value).startswith(f"template {template}{said}")


def test_no_credentials_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path: Path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["preflight", "--region", "us-east-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("preflight: Unable to locate credentials") and err.count("\n") == 1


FIX = "remove them: aws cloudwatch delete-alarms --alarm-names a; or deploy with ExistingScaling=take-over"


def test_a_fixs_aws_commands_run_from_here(monkeypatch):
    from sleepwake_cli import preflight

    monkeypatch.setattr(preflight, "aws_command", lambda: ".tools/aws/bin/aws")
    assert preflight.runnable_fix(FIX, "http://127.0.0.1:5000") == (
        "remove them: .tools/aws/bin/aws cloudwatch delete-alarms --alarm-names a --endpoint-url "
        "http://127.0.0.1:5000; or deploy with ExistingScaling=take-over"
    )
    monkeypatch.setattr(preflight, "aws_command", lambda: None)
    assert preflight.runnable_fix(FIX).endswith("take-over (the AWS CLI: `make setup` installs it in .tools/aws)")
    assert preflight.runnable_fix("set EndpointName=x") == "set EndpointName=x"


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({}, Status.OK),
        ({"FallbackPingMinutes": "30"}, Status.WARN),
        ({"FallbackPingMinutes": "10"}, Status.WARN),  # at the eviction's minute: it races it
        ({"FallbackPingMinutes": "20", "FallbackIdleEvictMinutes": "25"}, Status.OK),
        ({"FallbackPingMinutes": "30", "FallbackKeepWarm": "none"}, None),  # no pings
        ({"FallbackPingMinutes": "30", "DeploymentMode": "adopt", "ModelDataUrl": ""}, None),  # no fallback
    ],
)
def test_pings_that_come_after_the_assumed_eviction_are_a_warning(overrides: dict[str, str], status: Status | None):
    from sleepwake_cli.preflight_rules import Plan, keep_warm_check

    create = {"DeploymentMode": "create", "ModelDataUrl": "s3://m/model.tar.gz"}
    params, _ = resolve_parameters(create | overrides)
    checks = keep_warm_check(Plan(params))
    assert [c.status for c in checks] == ([status] if status else [])
    if status is Status.WARN:
        (check,) = checks
        ping, evict = params["FallbackPingMinutes"], params["FallbackIdleEvictMinutes"]
        assert check.detail.startswith(f"FallbackPingMinutes {ping} is not below FallbackIdleEvictMinutes {evict}")
        assert check.fix == f"set FallbackPingMinutes below {evict}, or FallbackKeepWarm=none"


def test_adopt_mode_with_the_default_create_fallback_and_no_archive_warns_what_it_loses():
    """The template makes the fallback in adopt mode only from ModelDataUrl: with the defaults there is none, and
    the learned schedule, the naps and keep-warm all quietly assume one."""
    from sleepwake_cli.preflight_rules import Plan, fallback_name_check

    params, _ = resolve_parameters({})
    assert (params["DeploymentMode"], params["CreateFallback"], params["ModelDataUrl"]) == ("adopt", "true", "")
    check = fallback_name_check(Plan(params), None)
    assert check.status is Status.WARN
    assert check.detail == (
        "CreateFallback is true, but adopt mode creates the fallback only from ModelDataUrl, which is empty: no "
        "fallback, so a sleeping component fails requests until it wakes, the idle check takes no naps, "
        "ScheduleMode learned keeps the crons, FallbackKeepWarm ping does nothing"
    )
    assert check.fix.startswith("make model MODEL_S3_URI=s3://bucket/prefix, then pass ModelDataUrl=")
    assert "CreateFallback=false" in check.fix
    crons, _ = resolve_parameters({"ScheduleMode": "crons", "FallbackKeepWarm": "none"})
    assert fallback_name_check(Plan(crons), None).detail.endswith(
        "fails requests until it wakes, the idle check takes no naps"
    )
    meant, _ = resolve_parameters({"CreateFallback": "false"})
    assert fallback_name_check(Plan(meant), None).status is Status.OK  # no fallback, as asked
