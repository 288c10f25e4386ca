"""CloudWatch's embedded metric format: a Lambda function's log line that is a JSON object with an `_aws` member
becomes metric data, as CloudWatch Logs extracts it from the function's log group (Powertools' Metrics writes
its metrics this way, one line per flush).

Source: CloudWatch User Guide, "Specification: Embedded metric format"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
`_aws.CloudWatchMetrics` is an array of directives, each with a `Namespace`, `Dimensions` (an array of dimension
sets, each an array of up to 30 names of root members holding the values) and `Metrics` (definitions with `Name`
and an optional `Unit`); a metric's value is the root member of its name, a number or an array of up to 100
numbers. A line that does not follow the specification stays a log event and yields no metric; so does a
directive whose dimension or value members are missing.

Differs from AWS: the datum's time is the emulated now when the invocation ends, not `_aws.Timestamp` (the
handlers stamp wall-clock milliseconds, which the emulated clock does not follow). `StorageResolution` is
ignored (the emulator keeps every datum at full resolution anyway).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from localaws import cloudwatch

MAX_DIMENSIONS = 30
MAX_VALUES = 100


Datum = tuple[str, str, list[float], list[dict[str, str]], str]  # namespace, name, values, dimensions, unit


def metrics_of(line: str) -> list[Datum]:
    """(namespace, metric name, values, dimensions, unit) of each datum one log line carries; none when the line
    is not an EMF document."""
    try:
        document = json.loads(line)
    except ValueError:
        return []
    if not isinstance(document, dict) or not isinstance(document.get("_aws"), dict):
        return []
    found: list[Datum] = []
    for directive in document["_aws"].get("CloudWatchMetrics") or []:
        found += _directive(document, directive)
    return found


def _directive(document: dict[str, Any], directive: Any) -> list[Datum]:
    if not isinstance(directive, dict) or not isinstance(directive.get("Namespace"), str):
        return []
    namespace: str = directive["Namespace"]
    sets = directive.get("Dimensions") or [[]]
    found: list[Datum] = []
    for definition in directive.get("Metrics") or []:
        name = definition.get("Name") if isinstance(definition, dict) else None
        if not isinstance(name, str):
            continue
        values = _values(document.get(name))
        if values is None:
            continue
        for names in sets:
            if not isinstance(names, list) or len(names) > MAX_DIMENSIONS:
                continue
            if not all(isinstance(n, str) and isinstance(document.get(n), str) for n in names):
                continue
            dims = [{"Name": n, "Value": document[n]} for n in names]
            found.append((namespace, name, values, dims, str(definition.get("Unit") or "None")))
    return found


def _values(value: Any) -> list[float] | None:
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > MAX_VALUES:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
        return None
    return [float(v) for v in items]


def ingest(output: Iterable[str], account: str, region: str) -> int:
    """Record the metrics of every EMF line in a function's output; returns how many data were recorded."""
    recorded = 0
    for line in "".join(output).splitlines():
        for namespace, name, values, dims, unit in metrics_of(line.strip()):
            for value in values:
                cloudwatch.record(account, region, namespace, name, value, dims, unit)
                recorded += 1
    return recorded


class LogStream:
    """A text stream whose lines are read as a Lambda function's log is: the product client's answer metrics
    (sleepwake_client.answer_metric), written as they would be in a function, become metric data at once."""

    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region

    def write(self, text: str) -> int:
        ingest([text], self.account, self.region)
        return len(text)
