"""The stack's wake API as API Gateway would serve it: routing a request to the function the template's REST API
names, the integration's permission to invoke it, and the proxy event (API Gateway developer guide, "Set up Lambda
proxy integrations in API Gateway": input format of a Lambda function for proxy integration).

The REST API is not served over HTTP here (see `localaws.apigateway` for the server): `call_api(method, path, body)`
sends the proxy event to the routed Lambda.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import uuid
from typing import TYPE_CHECKING, Any

from botocore.config import Config

from localaws import sessions

if TYPE_CHECKING:
    from localaws.emulator import Emulator

LOG = logging.getLogger(__name__)


class ApiRoutes:
    """Routes and calls of the stack's REST API; mixed into `localaws.cfn_stack.Stack`."""

    emu: Emulator
    api_routes: dict[tuple[str, str], str]
    api_credentials: dict[tuple[str, str], str]
    api_id: str
    _api_client: Any
    _api_client_lock: threading.Lock

    def _route(self, method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
        """(function, resource template, path parameters), preferring exact paths and exact methods.

        API Gateway REST APIs ignore a trailing slash when matching (see localaws/apigateway.py for sources):
        `/status/` reaches the `/status` resource; `/` matches only a method on the root resource."""
        candidates = []
        matched = path.rstrip("/") or "/"
        for (verb, resource), function in self.api_routes.items():
            if verb not in (method, "ANY"):
                continue
            m = _template_regex(resource).fullmatch(matched)
            if m:
                greedy = "+}" in resource
                candidates.append((greedy, resource.count("{"), verb == "ANY", function, resource, m.groupdict()))
        if not candidates:
            return None
        candidates.sort(key=lambda c: c[:3])
        _, _, _, function, resource, params = candidates[0]
        return function, resource, params

    def _api_lambda(self) -> Any:
        """One Lambda client for every API request: creating a boto3 client per request from many threads is
        slow and not thread-safe (the default session). It signs as the emulator's administrator: whether API
        Gateway may invoke the function is decided before (`_may_invoke`: the function's resource policy).
        Like API Gateway, it does not retry an Invoke, and it waits as long as a function may run (the invocations
        of a burst run at once, each in an execution environment of its function, see lambdas.py)."""
        with self._api_client_lock:
            if self._api_client is None:
                self._api_client = sessions.client(
                    "lambda",
                    region_name=self.emu.region,
                    endpoint_url=self.emu.endpoint_url,
                    config=Config(max_pool_connections=256, read_timeout=900, retries={"total_max_attempts": 1}),
                    **self.emu.client_keys().boto(),
                )
            return self._api_client

    def method_arn(self, method: str, path: str, stage: str = "v1") -> str:
        """execute-api ARN of one call: arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>."""
        where = f"{self.emu.region}:{self.emu.account}:{self.api_id}"
        return f"arn:aws:execute-api:{where}/{stage}/{method.upper()}/{path.lstrip('/')}"

    def _may_invoke(self, function: str, verb: str, resource: str, method: str, path: str, caller: Any) -> bool:
        """Whether API Gateway may call the function for this route. Integration `credentials` of
        `arn:aws:iam::*:user/*` (SAM's InvokeRole CALLER_CREDENTIALS) mean the caller's own identity needs
        lambda:InvokeFunction; a role ARN means that role does; none means the function's resource policy
        (AWS::Lambda::Permission) must let apigateway.amazonaws.com invoke it from this method ARN
        (API Gateway developer guide, "Control access to a REST API with IAM permissions" and Lambda
        integration permissions)."""
        from localaws import iam

        if not iam.IamSwitches.enforce:
            return True
        function_arn = f"arn:aws:lambda:{self.emu.region}:{self.emu.account}:function:{function}"
        credentials = self.api_credentials.get((verb, resource))
        if credentials is None:
            return iam.lambda_resource_policy_allows(
                function_arn, "apigateway.amazonaws.com", self.method_arn(method, path)
            )
        identity = caller if credentials == "arn:aws:iam::*:user/*" else _RoleIdentity(credentials)
        if identity is None:
            return False
        ctx = iam.RequestContext("lambda:InvokeFunction", [function_arn], {})
        try:
            iam.authorize(identity, ctx)
        except iam.AccessDenied:
            return False
        return True

    def call_api(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, caller: Any = None
    ) -> dict[str, Any]:
        """Send an API Gateway (REST, proxy) event for `method path` to the routed Lambda; returns its response
        with `body` parsed when it is JSON. `caller` is the authenticated identity (see
        `localaws.iam_wire.authenticate_api_call`); authentication itself happens before this."""
        route = self._route(method.upper(), path)
        if route is None:  # API Gateway's answer for a method or resource that does not exist
            return {
                "statusCode": 403,
                "headers": {"x-amzn-ErrorType": "MissingAuthenticationTokenException"},
                "body": {"message": "Missing Authentication Token"},
            }
        function, resource, path_params = route
        verb = method.upper() if (method.upper(), resource) in self.api_routes else "ANY"
        if not self._may_invoke(function, verb, resource, method, path, caller):
            # API Gateway's answer when it may not invoke the Lambda integration; its execution log says
            # "Execution failed due to configuration error: Invalid permissions on Lambda function".
            LOG.warning("wake api: API Gateway may not invoke %s for %s %s", function, method, path)
            return {"statusCode": 500, "body": {"message": "Internal server error"}}
        raw = body if isinstance(body, str) or body is None else json.dumps(body)
        now = self.emu.now()
        event = {
            "resource": resource,
            "path": path,
            "httpMethod": method.upper(),
            "headers": {"Content-Type": "application/json", **(headers or {})},
            "multiValueHeaders": {},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": path_params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method.upper(),
                "path": f"/v1{path}",
                "stage": "v1",
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "accountId": self.emu.account,
                "identity": {
                    "sourceIp": "127.0.0.1",
                    "userArn": str(getattr(caller, "arn", f"arn:aws:iam::{self.emu.account}:user/local")),
                },
            },
            "body": raw,
            "isBase64Encoded": False,
        }
        resp = self._api_lambda().invoke(FunctionName=function, Payload=json.dumps(event).encode())
        out = json.loads(resp["Payload"].read())
        if resp.get("FunctionError"):
            return {"statusCode": 502, "body": {"message": "Internal server error"}, "error": out}
        with contextlib.suppress(TypeError, ValueError):
            out["body"] = json.loads(out.get("body") or "null")
        return out


class _RoleIdentity:
    """A role API Gateway assumes for an integration (`credentials: <role arn>`), as `localaws.iam` evaluates it."""

    def __init__(self, role_arn: str) -> None:
        self.role_arn = role_arn
        self.arn = role_arn

    def collect_policies(self) -> list[Any]:
        """Inline documents and attached managed policies, as moto's access keys return them."""
        from moto.iam.models import iam_backends

        account = self.role_arn.split(":")[4]
        backend = iam_backends[account]["aws"]
        role = backend.get_role_by_arn(self.role_arn)
        docs: list[Any] = [backend.get_role_policy(role.name, n)[1] for n in backend.list_role_policies(role.name)]
        return docs + list(backend.list_attached_role_policies(role.name)[0])


def _template_regex(resource: str) -> re.Pattern[str]:
    """API Gateway path template -> regex: {name} is one segment, {name+} the rest of the path."""
    out = ""
    for part in re.split(r"(\{[^}]+\})", resource):
        if part.startswith("{") and part.endswith("+}"):
            out += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            out += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            out += re.escape(part)
    return re.compile(out)
