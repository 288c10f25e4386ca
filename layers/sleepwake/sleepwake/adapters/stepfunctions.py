"""Step Functions: start a named execution idempotently and name its ARN without a call."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError


def execution_arn(state_machine_arn: str, name: str) -> str:
    """arn:aws:states:R:A:stateMachine:SM -> arn:aws:states:R:A:execution:SM:name (documented ARN format)."""
    prefix, _, machine = state_machine_arn.rpartition(":stateMachine:")
    return f"{prefix}:execution:{machine}:{name}"


class Executions:
    def __init__(self, client: Any) -> None:
        self._sfn = client

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        """Start `name`; a second start of the same name returns the same execution (docs/aws-behaviour.md §4)."""
        try:
            return str(
                self._sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))[
                    "executionArn"
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                return execution_arn(state_machine_arn, name)
            raise

    def describe(self, execution_arn: str) -> dict[str, Any]:
        """DescribeExecution's answer: status, and output (JSON text) or error and cause once it ended."""
        return dict(self._sfn.describe_execution(executionArn=execution_arn))

    def status(self, execution_arn: str) -> str:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED or PENDING_REDRIVE."""
        return str(self._sfn.describe_execution(executionArn=execution_arn)["status"])
