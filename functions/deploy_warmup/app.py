"""CloudFormation custom resource: every deploy that creates or changes the component ends with a warm-up.

The result (latencies, or why it was skipped) becomes the resource's attributes, shown as a stack output,
and WarmupLatencyMs metrics. A failed warm-up is reported, not fatal: rolling a deploy back because the
component is asleep at deploy time would be worse than a cold first request.

Every deploy also checks that the endpoint may scale its instances to 0 (adopt mode's precondition): what is
wrong becomes the `Warnings` attribute (the DeployWarnings output) and is recorded for GET /status. A warning,
not a failure: sleepwake still works on such an endpoint (copies sleep and wake), it only saves less, and a
rollback would leave the operator with no control plane while they fix an endpoint they may not own.
"""

from __future__ import annotations

import statistics
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from sleepwake import runtime
from sleepwake.control.deploy import check_endpoint, settle
from sleepwake.control.fallback import warm_fallback
from sleepwake.control.status import is_ready
from sleepwake.control.warmup import warm_up
from sleepwake.custom_resource import send
from sleepwake.observability import logger, metrics, tracer


def run(event: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation response body for `event` (sent by `handler`; the local stack reads it directly)."""
    data: dict[str, str] = {"Result": "skipped", "Summary": "nothing to warm on delete", "LatenciesMs": ""}
    warnings = "none"
    if (event.get("ResourceProperties") or {}).get("Target") == "fallback":
        data = _warm_fallback() if event["RequestType"] in ("Create", "Update") else data
    elif event["RequestType"] in ("Create", "Update"):
        plane = runtime.plane()
        try:
            if is_ready(plane):
                result = warm_up(plane)
                lat = result.latencies_ms
                settle(plane, reason="post-deploy warm-up", latencies_ms=lat)
                data = {
                    "Result": "warm",
                    "LatenciesMs": ",".join(f"{v:.0f}" for v in lat),
                    "Summary": f"{len(lat)} warm-up requests: first {lat[0]:.0f} ms, "
                    f"median {statistics.median(lat):.0f} ms, last {lat[-1]:.0f} ms",
                }
            else:
                settle(plane, reason="deployed with no serving copy")
                data = {
                    "Result": "skipped",
                    "LatenciesMs": "",
                    "Summary": f"{plane.ic} has no serving copy (asleep); the next wake warms it",
                }
        except Exception as error:  # reported in the output, see the module docstring
            logger.exception("post-deploy warm-up failed")
            data = {"Result": "failed", "LatenciesMs": "", "Summary": f"warm-up failed: {error}"[:400]}
        # After the warm-up, so the record it adds the warnings to already says what the copies do.
        found = check_endpoint(plane)
        warnings = " | ".join(found)[:1000] if found else "none"
    data["Warnings"] = warnings  # always present: the DeployWarnings output reads it
    logger.info("post-deploy warm-up", extra=data)
    return {
        "Status": "SUCCESS",
        "PhysicalResourceId": event.get("PhysicalResourceId") or f"{event['LogicalResourceId']}-warmup",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Reason": data["Summary"],
        "Data": data,
    }


def _warm_fallback() -> dict[str, str]:
    """PostDeployFallbackWarmup: one request to the serverless fallback, so its first cold start is the deploy's,
    not a user's. Reported, not fatal, like the component's warm-up."""
    try:
        result = warm_fallback(runtime.plane())
    except Exception as error:
        logger.exception("fallback warm-up failed")
        return {"Result": "failed", "LatenciesMs": "", "Summary": f"fallback warm-up failed: {error}"[:400]}
    return {
        "Result": "warm",
        "LatenciesMs": ",".join(f"{v:.0f}" for v in result.latencies_ms),
        "Summary": f"fallback {result.reason}",
    }


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        response = run(event)
    except Exception as error:  # never leave CloudFormation waiting an hour for an answer
        logger.exception("custom resource failed")
        response = {
            "Status": "FAILED",
            "Reason": str(error)[:400],
            "StackId": event.get("StackId"),
            "RequestId": event.get("RequestId"),
            "LogicalResourceId": event.get("LogicalResourceId"),
            "PhysicalResourceId": event.get("PhysicalResourceId") or "post-deploy-warmup",
        }
    send(event["ResponseURL"], response)
    return response
