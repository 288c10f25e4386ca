"""The one retry configuration of every boto3 client (the Lambdas' in sleepwake.runtime, the operator CLI's);
endpoints come from AWS_ENDPOINT_URL[_<SERVICE>]."""

from __future__ import annotations

from botocore.config import Config

# Standard mode retries throttling with backoff; the state machines add their own Retry on top.
RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=5, read_timeout=70)
