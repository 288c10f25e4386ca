"""One Logger, Tracer and Metrics for every function (service name and namespace come from the template).

The defaults apply where the template's environment is absent (the operator CLI, tests). Log lines carry
their time as the API writes times (ISO 8601, UTC, `Z`), read from `sleepwake.clock`: the wall clock in
AWS, the emulated clock on the local stack (and in the operator CLI pointed at it), so a log line and the
state it describes agree on when.
"""

import logging
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from sleepwake import clock
from sleepwake.core import defaults

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "sleepwake")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", defaults.METRICS_NAMESPACE)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%FZ"  # Powertools' %F is milliseconds

# Steps that decide nothing worth counting flush no metrics; that is expected, not a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")


class _Current:
    """Whatever sys.stdout or sys.stderr (`name`) is when a line is written, not when the logger was made: a
    Lambda's stdout is never swapped, but the local stack's callers swap it (`make demo`, `make replay` send the
    functions' JSON logs to a file with contextlib.redirect_stdout, tests capture it, the CLI wants stderr), and
    the layer is imported once per process, usually before they do."""

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        return int(getattr(sys, self.name).write(text))

    def flush(self) -> None:
        getattr(sys, self.name).flush()


class _ClockTime(logging.Filter):
    """Stamp each record with `sleepwake.clock.now()` instead of the host's wall clock."""

    def filter(self, record: logging.LogRecord) -> bool:
        moment = clock.now().timestamp()
        record.created = moment
        record.msecs = (moment - int(moment)) * 1000
        return True


logger = Logger(service=SERVICE, utc=True, datefmt=TIME_FORMAT, stream=_Current("stdout"))  # type: ignore[arg-type]
logger.addFilter(_ClockTime())
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)

# The Tracer is made when a module first imports it (the functions do, for their decorators), not when this module
# is imported. Making one imports aws_xray_sdk.core, whose recorder builds a botocore client off Lambda even with
# tracing disabled (POWERTOOLS_TRACE_DISABLED only stops the segments): a bad AWS_PROFILE then raised
# ProfileNotFound from every `sleepwake` command, --help and the offline simulate included. Known upstream:
# aws-xray-sdk-python issue 273 ("`import aws_xray_sdk.core` attempts to establish session", open); Powertools'
# fix for it (powertools-lambda-python issue 294) made its own import lazy, not the Tracer. The operator CLI
# never imports `tracer`, so it never touches AWS until a command does; a function's import makes it as before.
tracer: Tracer  # built by __getattr__ on first import (PEP 562)


def __getattr__(name: str) -> Any:
    if name == "tracer":
        globals()["tracer"] = made = Tracer(service=SERVICE)
        return made
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextmanager
def logs_on_stderr(level: int | str = logging.WARNING) -> Iterator[None]:
    """For the operator CLI: stdout carries its answer alone (a sentence or one JSON document). Restores the
    stream and level after, for a process that goes on (the local stack's own tests run the CLI in-process)."""
    handler = logger.registered_handler
    saved_level = logger.log_level
    saved_stream = _set_stream(handler, _Current("stderr")) if isinstance(handler, logging.StreamHandler) else None
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(saved_level)
        if saved_stream is not None and isinstance(handler, logging.StreamHandler):
            _set_stream(handler, saved_stream)


def _set_stream(handler: logging.StreamHandler[Any], stream: Any) -> Any:
    """handler.setStream, which flushes the old stream first; a closed one (a finished test's captured stdout,
    a closed pipe) is just replaced."""
    try:
        return handler.setStream(stream)
    except ValueError:
        old, handler.stream = handler.stream, stream
        return old


__all__ = ["MetricUnit", "logger", "logs_on_stderr", "metrics", "tracer"]


def component_metrics(component: str, values: Mapping[str, float], unit: MetricUnit = MetricUnit.Seconds) -> None:
    """Metrics with the component as a dimension besides the service, each written at once as its own embedded
    metric document (Powertools' single_metric): the per-wake figures `sleepwake report` reads by component."""
    for name, value in values.items():
        with single_metric(
            name=name, unit=unit, value=value, namespace=NAMESPACE, default_dimensions={"service": SERVICE}
        ) as metric:
            metric.add_dimension(name="InferenceComponentName", value=component)
