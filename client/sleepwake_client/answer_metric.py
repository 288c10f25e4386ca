"""What a user waited for each answer, written as one CloudWatch embedded-metric-format line (opt-in).

SageMaker's ModelLatency is the model's own time: a user whose request met no capacity and then a cold fallback
waited for the no-capacity answer, the fallback's cold start (its ModelSetupTime, 10-20 s) and its latency, and
no AWS metric says which answer that was (ModelSetupTime counts cold starts, the control plane's warm-ups' too,
and a request queued behind one has none of its own). The client times each answer from its call to the answer,
on its `monotonic` clock, and `sleepwake report` counts the answers over 3 s from this metric. A call that
failed (the fallback failed too, or any error raised to the caller) is written as well, with ServedBy `failed`:
its user waited all the same, often longest.

The line follows the CloudWatch User Guide, "Specification: Embedded metric format"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
`_aws.Timestamp` in epoch milliseconds, `_aws.CloudWatchMetrics` with the namespace, the dimension sets (arrays of
root member names) and the metric's name and unit; the dimension values and the value are root members.
CloudWatch Logs turns such a line into metric data when it reaches a Lambda function's log (its stdout) or the
CloudWatch agent's embedded-metric input (tcp:25888 by default: "Using the CloudWatch agent to send embedded
metric format logs"); anywhere else it stays a log line.
"""

from __future__ import annotations

import json
from typing import Protocol

NAMESPACE = "Sleepwake"  # the stack's POWERTOOLS_METRICS_NAMESPACE: the control plane's metrics' namespace
METRIC = "AnswerWaitSeconds"
# One set per component (what the report counts), one per component and path (what the dashboard splits).
DIMENSION_SETS = [["InferenceComponentName"], ["InferenceComponentName", "ServedBy"]]


class LineWriter(Protocol):
    """Where the lines go: sys.stdout in a Lambda function, a file the CloudWatch agent reads, ..."""

    def write(self, text: str, /) -> object: ...


def answer_line(component: str, served_by: str, seconds: float, epoch_ms: int, namespace: str = NAMESPACE) -> str:
    """One answer's wait as an EMF document on one line (no newline)."""
    document = {
        "_aws": {
            "Timestamp": epoch_ms,
            "CloudWatchMetrics": [
                {"Namespace": namespace, "Dimensions": DIMENSION_SETS, "Metrics": [{"Name": METRIC, "Unit": "Seconds"}]}
            ],
        },
        "InferenceComponentName": component,
        "ServedBy": served_by,
        METRIC: round(seconds, 3),
    }
    return json.dumps(document, separators=(",", ":"))
