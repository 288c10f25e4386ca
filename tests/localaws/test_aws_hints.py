"""Every printed line that calls `aws` works on a fresh clone: the pinned AWS CLI in .tools/aws when the set-up
installed it, one on PATH otherwise, and without any AWS CLI the same call made with boto3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from localaws.emulator import Emulator
from localaws.make_local import aws_lines
from sleepwake_cli import awscli

OUTPUTS = {
    "InferenceComponentName": "ic",
    "WakeStateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:wake",
}


def test_the_pinned_aws_cli_in_tools_comes_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pinned = tmp_path / ".tools" / "aws" / "bin" / "aws"
    pinned.parent.mkdir(parents=True)
    pinned.write_text("#!/bin/sh\n")
    monkeypatch.setattr(awscli, "TOOLS_AWS", pinned)
    monkeypatch.chdir(tmp_path)
    assert awscli.aws_command() == ".tools/aws/bin/aws"
    local = SimpleNamespace(emu=SimpleNamespace(endpoint_url="http://127.0.0.1:5000"), outputs=OUTPUTS)
    assert all(" .tools/aws/bin/aws --endpoint-url " in line for line in aws_lines(local, "AWS_DEFAULT_REGION=x"))


def test_without_any_aws_cli_the_lines_make_the_same_calls_with_boto3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, emu: Emulator
) -> None:
    monkeypatch.setattr(awscli, "TOOLS_AWS", tmp_path / "absent")
    monkeypatch.setattr(awscli.shutil, "which", lambda name: None)
    assert awscli.aws_command() is None
    local = SimpleNamespace(emu=SimpleNamespace(endpoint_url=emu.endpoint_url), outputs=OUTPUTS)
    lines = aws_lines(local, "AWS_DEFAULT_REGION=us-east-1")
    assert not any(" aws " in line for line in lines)

    # Such a line, pasted into a shell with only the keys and region: it answers as the AWS CLI would (JSON).
    line = awscli.boto3_line(sys.executable, "stepfunctions", "list_state_machines", emu.endpoint_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= emu.client_keys().env() | {"AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run(["bash", "-c", line], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "stateMachines" in json.loads(done.stdout)
