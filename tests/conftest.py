"""Shared test helpers: load a function's handler by path (each is a module named `app`) and its events."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.scheduling import SPLIT_ACROSS_WORKERS, longest_first

ROOT = Path(__file__).resolve().parent.parent

# Offline: no X-Ray daemon, no credentials, no region from the machine.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


def load_handler(function: str) -> ModuleType:
    """Import functions/<function>/app.py under a unique name, as Lambda would import `app`."""
    path = ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"functions_{function}_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic and Powertools resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def load_event(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / f"{name}.json").read_text())


class LambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name = "sleepwake-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sleepwake-test"
    memory_limit_in_mb = 256
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/sleepwake-test"
    log_stream_name = "test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def any_occurrence_alarm(
    cloudwatch: Any,
    name: str,
    namespace: str,
    metric: str,
    dimensions: dict[str, str] | None = None,
    *,
    period: int = 60,
    actions: list[str] | None = None,
) -> None:
    """An alarm (through `cloudwatch`, a boto3 client) that goes to ALARM when `metric` sums to 1 or more over
    one `period`; no data is not breaching."""
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": key, "Value": value} for key, value in (dimensions or {}).items()],
        Statistic="Sum",
        Period=period,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=actions or [],
    )


# pytest-xdist hands tests to its workers by group (`--dist loadgroup`, pyproject.toml). Each module is one
# group, so its module-scoped fixtures (a shared stack, a translated template) are made once, on one worker;
# the long modules are split test by test (tests/scheduling.py SPLIT_ACROSS_WORKERS), so the workers share
# them: each worker's tests of such a module come one after another and its module-scoped stack is deployed
# once per worker (tests/stacks.py as_deployed puts it back between tests). The groups are handed out in the
# order of `items`: the longest first (tests/scheduling.py).
@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.nodeid.split("::")[0]
        if module not in SPLIT_ACROSS_WORKERS and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(module))
    position = {nodeid: index for index, nodeid in enumerate(longest_first([item.nodeid for item in items]))}
    items.sort(key=lambda item: position[item.nodeid])


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (pyproject.toml) starts one worker more than the machine has cores: the e2e tests spend much of
    their time waiting (a subprocess's start, an HTTP answer, the clock's settle window), so two workers on two
    cores left the CPU ~45 % idle. Measured on main e1d4b89, 2 cores, quiet: -n 2 5 min 45 s (s22-speed's
    run), -n 3 4 min 21 s, -n 4 4 min 6 s for 0.8 min more CPU (`time pytest -p no:cacheprovider -n N -q`).
    SLEEPWAKE_TEST_WORKERS sets another count."""
    chosen = os.environ.get("SLEEPWAKE_TEST_WORKERS")
    return int(chosen) if chosen else (os.cpu_count() or 1) + 1
