"""The product's side of the local stack: the identity `make local` creates has exactly what docs/fallback.md
says a product needs (each permission is needed: without any one the fallback path fails), and the doc's
"Against `make local`" recipe works pasted as it is written."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import iam
from localaws.cfn_template import REPO_ROOT
from localaws.local_stack import SAMPLE, LocalStack
from sleepwake_client import FallbackFailed
from tests.e2e.conftest import sleep_now
from tests.stacks import local_stack

NEVER = 10 * 24 * 3600.0  # emulated seconds: a wake started in these tests stays in its waking phase
DEPLOYMENT = "build/local/deployment.json"


@pytest.fixture(scope="module")
def asleep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Path]]:
    """A stack whose component sleeps, and whose wakes, once started, do not finish while the module runs."""
    deployment = tmp_path_factory.mktemp("product") / "deployment.json"
    with local_stack(deployment_file=deployment, real_model=True) as stack:  # the recipe prints the answer
        with stack.clock.jumping():  # the forced sleep's emulated waits cost no wall time (this thread drives)
            sleep_now(stack)
        settings = stack.emu.sagemaker.switches
        settings.provisioning_seconds = settings.copy_seconds = NEVER
        yield stack, deployment


def recipe() -> list[str]:
    """The shell lines of docs/fallback.md's "Against `make local`" block, as written."""
    text = (REPO_ROOT / "docs" / "fallback.md").read_text()
    section = text.split("### Against `make local`", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "docs/fallback.md: the Against `make local` section has no ```bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def shell(line: str) -> subprocess.CompletedProcess[str]:
    """One line in a shell from the repository's directory, with no AWS_* variables (a fresh terminal) and
    this checkout's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = os.pathsep.join(str(REPO_ROOT / p) for p in ("layers/sleepwake", "client", "."))
    return subprocess.run(["bash", "-c", line], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_docs_recipe_against_make_local_gets_the_fallbacks_answer_pasted_as_written(asleep) -> None:
    local, deployment = asleep
    lines = recipe()
    assert len(lines) == 3 and all(DEPLOYMENT in line for line in lines), lines
    wakes_before = len(local.executions("Wake"))
    # The only change: this test's stack writes its deployment file elsewhere than `make local` does.
    done = [shell(line.replace(DEPLOYMENT, str(deployment))) for line in lines]
    for line, result in zip(lines, done, strict=True):
        assert result.returncode == 0, (line, result.stdout, result.stderr)
    printed = done[1].stdout
    assert printed.startswith("served by the fallback (wake signalled: True): "), printed
    assert isinstance(json.loads(printed.split("): ", 1)[1]), dict)  # the model's JSON answer
    assert len(local.executions("Wake")) == wakes_before + 1
    assert "waking" in done[2].stdout, done[2].stdout


def test_the_deployment_file_carries_the_products_keys_outputs_and_policy(asleep) -> None:
    local, deployment = asleep
    product = json.loads(deployment.read_text())["product"]
    assert local.product_keys
    assert product["environment"] == {
        "AWS_ENDPOINT_URL": local.emu.endpoint_url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": local.product_keys.access_key_id,
        "AWS_SECRET_ACCESS_KEY": local.product_keys.secret_access_key,
    }
    assert product["outputs"] == {
        "EndpointName": local.outputs["EndpointName"],
        "InferenceComponentName": local.outputs["InferenceComponentName"],
        "FallbackEndpointName": local.outputs["FallbackEndpointName"],
        "WakeApiUrl": local.api_url,
    }
    assert product["policy"]["Statement"] == local.product_statements()
    actions = {st["Action"] for st in local.product_statements()}
    assert actions == {"execute-api:Invoke", "sagemaker:InvokeEndpoint"}


def without(statements: list[dict[str, Any]], grant: str) -> list[dict[str, Any]]:
    """The statements less one action or one resource."""
    out = []
    for st in statements:
        if st["Action"] == grant:
            continue
        resources = [r for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])]
        out.append(st | {"Resource": [r for r in resources if r != grant]})
    return out


def test_the_product_needs_every_permission_the_docs_name_and_nothing_more(asleep) -> None:
    local, _ = asleep
    statements = local.product_statements()
    region, account, out = local.emu.region, local.emu.account, local.outputs
    endpoint, fallback = (
        f"arn:aws:sagemaker:{region}:{account}:endpoint/{out[name].lower()}"
        for name in ("EndpointName", "FallbackEndpointName")
    )
    component = f"arn:aws:sagemaker:{region}:{account}:inference-component/{out['InferenceComponentName'].lower()}"

    def client(grant: str) -> Any:
        keys = iam.create_user(local.emu.account, f"product-without-{len(grant)}", without(statements, grant))
        return local.product_client(keys)

    # No execute-api:Invoke: the fallback answers, but the wake signal is refused (403).
    answer = client("execute-api:Invoke").invoke(SAMPLE.read_bytes())
    assert (answer.served_by, answer.wake_signalled) == ("fallback", False)
    # No InvokeEndpoint on the endpoint, or on the component: refused before any capacity is looked at.
    for grant in (endpoint, component):
        with pytest.raises(ClientError) as denied:
            client(grant).invoke(SAMPLE.read_bytes())
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException", grant
    # No InvokeEndpoint on the fallback: the product gets FallbackFailed naming the denial.
    with pytest.raises(FallbackFailed) as failed:
        client(fallback).invoke(SAMPLE.read_bytes())
    assert "AccessDenied" in str(failed.value)
    # Everything the docs name: the fallback answers and the wake signal is taken.
    answer = local.product_client().invoke(SAMPLE.read_bytes())
    assert (answer.served_by, answer.wake_signalled) == ("fallback", True)


def test_a_restart_keeps_the_operators_and_the_products_keys(tmp_path: Path) -> None:
    """Exported keys and pasted lines outlive a restart of `make local`: it reads them back from its file."""
    deployment = tmp_path / "deployment.json"

    with local_stack(deployment_file=deployment) as first:
        kept = first.operator_keys, first.product_keys
    with local_stack(deployment_file=deployment) as second:
        assert (second.operator_keys, second.product_keys) == kept
        assert second.http("GET", "/status")[0] == 200  # signed with the operator's kept keys
        assert second.product_client().invoke(SAMPLE.read_bytes()).served_by == "component"
        written = json.loads(deployment.read_text())
        assert kept[0] and written["credentials"]["AWS_ACCESS_KEY_ID"] == kept[0].access_key_id
