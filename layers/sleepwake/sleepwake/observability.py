"""One Logger, Tracer and Metrics for every function (service name and namespace come from the template).

The defaults apply where the template's environment is absent (the operator CLI, tests).
"""

import os
import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "sleepwake")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Sleepwake")

# Steps that decide nothing worth counting flush no metrics; that is expected, not a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]
