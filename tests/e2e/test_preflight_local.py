"""`sleepwake preflight --deployment-file` against the running local stack, as an operator runs it before a
second deploy: it reads as the stack's deployer and prints its table."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from localaws.local_stack import CREATE_MODE, LocalStack
from sleepwake_cli.main import main
from tests.stacks import DEMO_PROVISIONING, local_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[LocalStack, Path]]:
    path = tmp_path / "deployment.json"
    # The template's own parameters and provisioning time (what `make local` deploys); no model answer is read.
    with local_stack(deployment_file=path, parameters={}, provisioning_seconds=DEMO_PROVISIONING) as stack:
        yield stack, path


def preflight(capsys: pytest.CaptureFixture[str], deployment: Path, *args: str) -> tuple[int, str]:
    # An empty samconfig.toml beside the deployment file: the template's defaults, not the repository's settings.
    config = deployment.parent / "samconfig.toml"
    config.touch()
    status = main(["preflight", "--config-file", str(config), "--deployment-file", str(deployment), *args])
    return status, capsys.readouterr().out


def test_preflight_reads_the_local_stack_as_its_deployer_and_prints_its_table(running, capsys, monkeypatch):
    local, path = running
    operator = json.loads(path.read_text())["credentials"]
    for name, value in operator.items():
        monkeypatch.setenv(name, value)  # exported as `make local` tells operators to; the deployer still reads

    # The template's defaults: adopt mode over the endpoint the running stack created and manages.
    status, table = preflight(capsys, path)
    assert status == 2
    assert table.startswith("preflight for stack sleepwake in us-east-1 (parameters: template defaults)")
    assert re.search(r"\n  ok    endpoint +sleepwake-endpoint is InService\n", table)
    assert re.search(r"\n  FAIL  scalable target +inference-component/sleepwake-ic is already registered", table)
    assert "sleepwake-ic-concurrency is the name of the deploy's own policy" in " ".join(table.split())
    assert "may call all" in table and "user/localaws-admin" in table

    # A second component, created beside it: nothing in the way.
    other = {
        **CREATE_MODE,
        "EndpointName": "other-endpoint",
        "InferenceComponentName": "other-ic",
        "ModelDataUrl": local.parameters["ModelDataUrl"],
    }
    overrides = [f"{k}={v}" for k, v in other.items()]
    status, out = preflight(capsys, path, "--json", "--parameter-overrides", *overrides)
    document = json.loads(out)
    failed = [c for c in document["checks"] if c["status"] != "ok"]
    assert (status, failed) == (0, [])
    quota = next(c for c in document["checks"] if c["name"] == "serverless quota")
    assert "FallbackMaxConcurrency 5 + 5 on 1 other serverless endpoint(s)" in quota["detail"]
