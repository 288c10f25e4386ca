"""The wake API: POST /wake starts or joins a wake (202) or says it is already serving (200); GET /status.

API Gateway (REST, IAM auth) proxies here. Bodies are validated by Powertools against pydantic models;
every error leaves as a 4xx JSON body with a message that says what is wrong (a 503 only when AWS itself
refused to start the wake, after the claim was released, so nothing is left half done).
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from sleepwake import runtime
from sleepwake.control.status import status as read_status
from sleepwake.control.wake import WakeStartFailed, announce_user
from sleepwake.core import State, defaults
from sleepwake.observability import logger, metrics, tracer

MAX_BODY_BYTES = 4096
ROUTES = {"/wake": ["POST"], "/status": ["GET"]}

app = APIGatewayRestResolver(enable_validation=True)


class WakeRequest(BaseModel):
    """Optional body of POST /wake."""

    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str = Field(
        default=defaults.DEFAULT_WAKE_REASON,
        min_length=1,
        max_length=defaults.REASON_MAX_LENGTH,
        description="Why the caller wakes it",
    )
    keep_awake_minutes: int | None = Field(
        default=None,
        ge=1,
        le=defaults.MAX_KEEP_AWAKE_MINUTES,
        description="Keep it awake (no idle or scheduled sleep) for this long; default WakeHoldMinutes",
    )


class WakeResponse(BaseModel):
    state: State
    eta_seconds: int
    execution: str | None
    reason: str


def _error(status: int, message: str, **extra: Any) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body={"message": message, **extra})


@app.post("/wake")
@tracer.capture_method
def wake(body: Annotated[WakeRequest | None, Body()] = None) -> Response[dict[str, Any]]:
    request = body or WakeRequest()
    outcome = announce_user(runtime.plane(), reason=request.reason, keep_awake_minutes=request.keep_awake_minutes)
    answer = WakeResponse(
        state=outcome.state, eta_seconds=outcome.eta_seconds, execution=outcome.execution, reason=outcome.reason
    )
    return Response(
        status_code=outcome.http_status,
        content_type=content_types.APPLICATION_JSON,
        body=answer.model_dump(mode="json"),
    )


@app.get("/status")
@tracer.capture_method
def status() -> dict[str, Any]:
    return read_status(runtime.plane()).model_dump(mode="json")


def _problem(error: dict[str, Any]) -> dict[str, str]:
    if error.get("type") == "json_invalid":  # loc is ("body", character offset): say where, not "field 1"
        offset = error.get("loc", ("body", 0))[-1]
        detail = (error.get("ctx") or {}).get("error", "JSON decode error")
        return {"field": "body", "problem": f"not valid JSON: {detail} (at character {offset})"}
    field = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
    return {"field": field, "problem": error["msg"]}


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response[dict[str, Any]]:
    problems = [_problem(e) for e in error.errors()]
    logger.info("rejected a request", extra={"problems": problems})
    return _error(
        422, "invalid request: " + "; ".join(f"{p['field']}: {p['problem']}" for p in problems), problems=problems
    )


@app.exception_handler(WakeStartFailed)
def wake_not_started(error: WakeStartFailed) -> Response[dict[str, Any]]:
    return _error(503, f"the wake could not be started, nothing was changed; retry: {error}")


@app.not_found
def not_found(_: Exception) -> Response[dict[str, Any]]:
    path, method = app.current_event.path, app.current_event.http_method
    route = path.rstrip("/")  # API Gateway and the resolver ignore a trailing slash: /status/ is /status
    if route in ROUTES:
        return _error(405, f"{method} is not allowed on {route}; use {', '.join(ROUTES[route])}", allowed=ROUTES[route])
    return _error(404, f"no route {method} {path}; routes: POST /wake, GET /status")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Who called: the API has no access log (see template.yaml, WakeApi), so every request is logged here.
    identity = (event.get("requestContext") or {}).get("identity") or {}
    logger.append_keys(caller=identity.get("userArn") or identity.get("caller"), source_ip=identity.get("sourceIp"))
    logger.info("request", extra={"method": event.get("httpMethod"), "path": event.get("path")})
    body = event.get("body") or ""
    if len(body.encode() if isinstance(body, str) else body) > MAX_BODY_BYTES:
        return {
            "statusCode": 413,
            "headers": {"Content-Type": "application/json"},
            "body": f'{{"message": "request body is larger than {MAX_BODY_BYTES} bytes"}}',
        }
    # The API speaks JSON only: a body sent without a JSON content type (curl -d, say) is still read as JSON,
    # rather than as a form whose single field is the whole document.
    headers = event.get("headers") or {}
    for key in [k for k in headers if k.lower() == "content-type"]:
        del headers[key]
    event["headers"] = headers | {"Content-Type": "application/json"}
    event.get("multiValueHeaders", {}).pop("Content-Type", None)
    return app.resolve(event, context)
