"""`sleepwake warmup`'s requests are the control plane's own (sleepwake.core.warmups): the operator's process has
no log group to turn an embedded metric into one, so it counts them with PutMetricData, the same metric and
dimensions the warm-up function's embedded metrics have, and `sleepwake report` leaves them out (on the local
stack: tests/cli/test_cli_on_local_stack.py)."""

from __future__ import annotations

import argparse
from datetime import timedelta

import boto3
from botocore.exceptions import ClientError

from sleepwake.control.warmup import warm_up
from sleepwake_cli.command import FAILED, OK, Operator
from sleepwake_cli.operator import cmd_warmup
from tests.handlers.conftest import IC, REGION


def counted(metric: str, stack) -> float:
    """The sum of the control plane's own `metric` for the component, as the report reads it."""
    points = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace="Sleepwake",
        MetricName=metric,
        Dimensions=[{"Name": "service", "Value": "sleepwake"}, {"Name": "InferenceComponentName", "Value": IC}],
        StartTime=stack.now[0] - timedelta(hours=1),
        EndTime=stack.now[0] + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )["Datapoints"]
    return sum(p["Sum"] for p in points)


def test_an_operators_warm_up_counts_each_request_with_put_metric_data_and_writes_nothing_on_stdout(stack, capsys):
    stack.component.desired = stack.component.current = 1
    capsys.readouterr()

    result = warm_up(stack.plane, embedded=False)

    assert len(result.latencies_ms) == len(stack.runtime.calls) == 3
    assert result.uncounted == 0
    assert counted("ComponentWarmupRequests", stack) == 3.0
    assert '"_aws"' not in capsys.readouterr().out  # stdout is the CLI's answer alone


def test_an_operator_who_may_not_put_metric_data_still_warms_and_is_told_what_went_uncounted(stack, capsys):
    stack.component.desired = stack.component.current = 1

    def refused(*_, **__):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "PutMetricData")

    stack.plane.aws.metrics.record_own_requests = refused
    args = argparse.Namespace(invocations=None, json=False)

    assert cmd_warmup(Operator(args, None, stack.plane, None)) == OK  # type: ignore[arg-type]

    out = capsys.readouterr().out  # the rig's logs on stdout too (the CLI's go to stderr): the answer is last
    answer = out[out.index("\nwarm: ") + 1 :]
    assert "3 of them not counted as warm-ups (cloudwatch:PutMetricData on the namespace Sleepwake failed" in answer
    assert "`sleepwake report` counts them as users' requests" in answer


def test_a_model_error_during_an_operators_warm_up_is_one_line_and_says_whether_it_was_counted(stack, capsys):
    """A ModelError (or any error SageMaker answers) fails `sleepwake warmup` with its reason, exit 1, never a
    traceback; when the failed request could not be counted either, the answer says the report takes it for a
    user's."""
    stack.component.desired = stack.component.current = 1
    stack.runtime.fail_calls = {2}
    args = argparse.Namespace(invocations=None, json=False)

    assert cmd_warmup(Operator(args, None, stack.plane, None)) == FAILED  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "warm-up failed: the component answered an error: ModelError: Received server error (500)" in out
    assert "not counted" not in out

    def refused(*_, **__):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "PutMetricData")

    stack.plane.aws.metrics.record_own_requests = refused
    stack.runtime.calls.clear()
    assert cmd_warmup(Operator(args, None, stack.plane, None)) == FAILED  # type: ignore[arg-type]
    assert "; not counted as a warm-up (PutMetricData failed): `sleepwake report` counts it as a user's request" in (
        capsys.readouterr().out
    )
