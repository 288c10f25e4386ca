"""IAM on the wire: how the local stack's services authenticate a request and answer a refusal, as AWS does.

`install()` replaces moto's per-request check (moto/core/authorization.py, `ActionAuthenticatorMixin`) with
moto's own signature and key checks followed by `localaws.iam.authorize` (the policy evaluation). A refusal is
answered in the protocol of the service called, which botocore's service models name
(`botocore/data/<service>/<version>/service-2.json`, metadata "protocol"/"protocols"):

- JSON and REST-JSON services: `AccessDeniedException`, HTTP 400 for awsJson, 403 for the REST services Lambda
  and SageMaker Runtime (each service's API reference, common errors);
- Query services (CloudFormation, IAM, STS, SNS, ...: "protocol": "query"): an XML `ErrorResponse`, HTTP 403,
  code `AccessDenied` (SNS: `AuthorizationError`), as AWS sends them and the AWS CLI prints them ("An error
  occurred (AccessDenied) when calling the AssumeRole operation: User: ... is not authorized to perform:
  sts:AssumeRole on resource: ..."; IAM user guide, "Troubleshoot access denied error messages"; moto's
  `AccessDeniedError` uses the same code and status). The body's shape is the Query protocol's error
  response (`<ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>`,
  botocore `parsers.QueryParser`).

`authenticate_api_call` is API Gateway's AWS_IAM authorization for the wake API (localaws/apigateway.py).
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from localaws.iam import (
    PARTITION,
    AccessDenied,
    Decision,
    IamSwitches,
    authorize,
    evaluate,
    iam_action,
    policies_of,
    request_context,
)

LOG = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------- moto hook
def _authenticate_and_authorize_normal_action(self: Any, resource: str = "*") -> None:
    """Replaces moto's ActionAuthenticatorMixin method: moto's signature and key checks, our evaluation."""
    if not IamSwitches.enforce:
        return
    if "Authorization" not in self.headers:
        # Unsigned (e.g. moto's own dashboard): moto's IAMRequest would KeyError; AWS answers this way.
        raise _missing_authentication()
    signing_name = _signing_name(self.headers["Authorization"])
    try:
        request = _signed_request_class()(
            account_id=self.current_account,
            method=self.method,
            path=self.raw_path + (("?" + self.uri.split("?", 1)[1]) if "?" in self.uri else ""),
            data=self.data,
            body=self.raw_body,
            headers=self.headers,
            action=self._get_action(),
        )
        request.check_signature()
    except Exception as error:
        raise _as_json_error(signing_name, self.raw_path, error, self.headers) from None
    operation = request._action.split(":", 1)[1]
    action = iam_action(signing_name, operation)

    def param(name: str) -> Any:
        try:
            value = self._get_param(name)
        except Exception:
            value = None
        if value is None and getattr(self, "uri_match", None):
            value = self.uri_match.get(name)
        return value

    ctx = request_context(action, param, request._region, self.current_account, self.raw_path, self.headers)
    try:
        authorize(request._access_key, ctx)
    except AccessDenied as denied:
        raise _denied_error(signing_name, self.raw_path, denied.message, self.headers) from None


def _signing_name(authorization: str) -> str:
    scope = authorization.partition("Credential=")[2].partition(",")[0].split("/")
    return scope[3] if len(scope) > 3 else ""


def _as_json_error(signing_name: str, path: str, error: Exception, headers: Any = None) -> Exception:
    """moto answers a bad key or signature in Query XML for every service (right for Query clients); JSON
    services answer JSON:
    `UnrecognizedClientException` ("The security token included in the request is invalid.") and
    `InvalidSignatureException` (the signature-mismatch text), as their API references' common errors list."""
    from moto.core.exceptions import InvalidClientTokenIdError, JsonRESTError, SignatureDoesNotMatchError

    if speaks_query(signing_name, headers) or not isinstance(
        error, (InvalidClientTokenIdError, SignatureDoesNotMatchError)
    ):
        return error
    kind = (
        "UnrecognizedClientException" if isinstance(error, InvalidClientTokenIdError) else "InvalidSignatureException"
    )
    converted = JsonRESTError(kind, error.message)
    converted.code = 403 if signing_name == "lambda" or "/endpoints/" in path else 400
    return converted


def _signed_request_class() -> Any:
    from botocore.awsrequest import AWSRequest
    from moto.iam.access_control import IAMRequest

    class _SignedRequest(IAMRequest):
        """moto's IAMRequest re-signs a body-less GET with its query parameters as the payload, so every GET
        fails SignatureDoesNotMatch; SigV4 signs an empty payload there. (Form POSTs keep moto's way: their
        raw body is consumed into the form, which botocore re-encodes as sent.)"""

        def _create_aws_request(self) -> AWSRequest:
            request = super()._create_aws_request()
            if self._method in ("GET", "HEAD", "DELETE") and not self._body:
                request.data = b""
            return request

    return _SignedRequest


# Signing names whose botocore service model has another name (service-2.json metadata "signingName"/
# "endpointPrefix"); every other signing name is its service's name.
_MODEL_NAMES = {"monitoring": "cloudwatch", "states": "stepfunctions"}


@functools.lru_cache(maxsize=64)
def protocols(signing_name: str) -> tuple[str, ...]:
    """The protocols botocore's service model lists for a service ("protocols", else "protocol"); () when
    botocore has no model of that name."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    try:
        metadata = botocore.session.get_session().get_service_model(_MODEL_NAMES.get(signing_name, signing_name))
    except UnknownServiceError:
        return ()
    meta = metadata.metadata
    return tuple(meta.get("protocols") or [meta.get("protocol", "")])


def speaks_query(signing_name: str, headers: Any) -> bool:
    """Did this request come in the Query protocol? Its service's model offers "query" and it is a form (a
    service such as CloudWatch also speaks JSON or CBOR; its clients then send another content type)."""
    offered = protocols(signing_name)
    if "query" not in offered:
        return False
    content_type = str((headers or {}).get("Content-Type") or "")
    return offered[0] == "query" or content_type.startswith("application/x-www-form-urlencoded")


def query_error(code: str, message: str, status: int) -> Exception:
    """An error in the Query protocol's shape, with a RequestId (botocore reads it from the body; Step
    Functions' error cause names it)."""
    from moto.core.exceptions import _RESTError

    error = _RESTError(code, message)
    error.code = status
    error.description = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return error


def _denied_error(signing_name: str, path: str, message: str, headers: Any = None) -> Exception:
    """AccessDenied as each protocol's clients parse it: Query services an XML `ErrorResponse` with HTTP 403,
    code `AccessDenied` (SNS: `AuthorizationError`, its API reference's error list); JSON services
    `AccessDeniedException` (HTTP 400 for awsJson, 403 for the REST services Lambda and SageMaker Runtime).
    CloudWatch's CBOR clients see the JSON error body as an unparsed 400 (no emulated call of this project is
    denied there in the tests)."""
    from moto.core.exceptions import JsonRESTError

    if speaks_query(signing_name, headers):
        return query_error("AuthorizationError" if signing_name == "sns" else "AccessDenied", message, 403)
    error = JsonRESTError("AccessDeniedException", message)
    rest = signing_name == "lambda" or "/endpoints/" in path
    error.code = 403 if rest else 400
    return error


def _missing_authentication() -> Exception:
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("MissingAuthenticationTokenException", "Missing Authentication Token")
    error.code = 403
    return error


def install() -> None:
    """Route moto's per-request authorization through `authorize` (idempotent). Enforcement is
    `IamSwitches.enforce`, independent of moto's INITIAL_NO_AUTH_ACTION_COUNT."""
    from moto.core.authorization import ActionAuthenticatorMixin

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = (  # type: ignore[method-assign]
        _authenticate_and_authorize_normal_action
    )


# ------------------------------------------------------------------------------------- API Gateway
# API Gateway's answers to a method with AWS_IAM authorization (all 403, JSON bodies):
# - no signature: {"message": "Missing Authentication Token"} (gateway response MISSING_AUTHENTICATION_TOKEN,
#   "Gateway response types for API Gateway" in the API Gateway developer guide);
# - unknown access key or session token: {"message": "The security token included in the request is invalid."}
#   (UNAUTHORIZED_REQUEST / INVALID_SIGNATURE family; the text as API Gateway returns it, e.g.
#   kndt84/aws-api-gateway-client#31);
# - wrong signature: "The request signature we calculated does not match the signature you provided. Check your
#   AWS Secret Access Key and signing method. Consult the service documentation for details." followed by the
#   canonical string and string-to-sign it expected (INVALID_SIGNATURE; e.g. mhart/aws4#33, aws/aws-sdk-js#2372);
# - identity policy without execute-api:Invoke on the method ARN: {"Message": "User: <arn> is not authorized to
#   perform: execute-api:Invoke on resource: <method arn>"} (ACCESS_DENIED; "How do I troubleshoot HTTP 403
#   Forbidden errors from API Gateway?", AWS Knowledge Center; " with an explicit deny" when one decided).
#   The Knowledge Center shows the key both as "Message" (2020) and "message" (2022); "Message" is kept.
# - a credential scope for another region or service, checked before the key (the signing front end AWS's
#   services share checks the scope's pieces, then the key id, then the signature: mhart/dynalite index.js,
#   which records DynamoDB's answers in that order): 403 InvalidSignatureException with one sentence per wrong
#   piece, each ending ". ": "Credential should be scoped to a valid region, not '<region>'. " (API Gateway's
#   text for an execute-api URL signed for another region: aws/aws-sdk-js#792, `{"message": ...}`),
#   "Credential should be scoped to correct service: 'execute-api'. " (the awscli execute-api plugins quote it
#   from API Gateway; dynalite's list), "Credential should be scoped with a valid terminator: 'aws4_request',
#   not '<x>'. " (dynalite's list).
# Differs from AWS: the request time (X-Amz-Date) is not checked against a 5-minute window, nor the scope's date.
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
    "Key and signing method. Consult the service documentation for details."
)


@dataclass
class Refusal:
    status: int
    body: dict[str, str]
    error_type: str


def scope_problems(region: str, service: str, terminator: str, api_region: str) -> str:
    """What is wrong with a credential scope for this API, in API Gateway's words ("" when nothing is)."""
    problems = []
    if region != api_region:
        problems.append(f"Credential should be scoped to a valid region, not '{region}'. ")
    if service != "execute-api":
        problems.append("Credential should be scoped to correct service: 'execute-api'. ")
    if terminator != "aws4_request":
        problems.append(f"Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. ")
    return "".join(problems)


def authenticate_api_call(
    method: str, path: str, headers: dict[str, str], body: bytes, method_arn: str, account: str
) -> tuple[Any, Refusal | None]:
    """(the caller's moto access key, None) or (None, the 403 API Gateway answers). With IAM not enforced:
    (None, None)."""
    if not IamSwitches.enforce:
        return None, None
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from moto.iam.access_control import CreateAccessKeyFailure, create_access_key

    titled = {k.title(): v for k, v in headers.items()}
    authorization = titled.get("Authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        return None, Refusal(403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException")
    fields = dict(
        part.strip().split("=", 1) for part in authorization[len("AWS4-HMAC-SHA256 ") :].split(",") if "=" in part
    )
    scope = fields.get("Credential", "").split("/")
    if len(scope) != 5 or "SignedHeaders" not in fields or "Signature" not in fields:
        return None, Refusal(403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException")
    key_id, _, region, service, terminator = scope
    wrong_scope = scope_problems(region, service, terminator, method_arn.split(":")[3])
    if wrong_scope:
        return None, Refusal(403, {"message": wrong_scope}, "InvalidSignatureException")
    invalid = Refusal(
        403, {"message": "The security token included in the request is invalid."}, "UnrecognizedClientException"
    )
    try:
        access_key = create_access_key(account, PARTITION, key_id, titled)
    except CreateAccessKeyFailure:
        return None, invalid
    credentials = access_key.create_credentials()
    signed = fields["SignedHeaders"].split(";")
    lowered = {k.lower(): v for k, v in headers.items()}
    request = AWSRequest(
        method=method,
        url=f"http://{lowered.get('host', 'localhost')}{path}",
        data=body,
        headers={name: lowered.get(name, "") for name in signed},
    )
    request.context["timestamp"] = lowered.get("x-amz-date", "")
    auth = SigV4Auth(Credentials(credentials.access_key, credentials.secret_key, credentials.token), service, region)
    canonical = auth.canonical_request(request)
    to_sign = auth.string_to_sign(request, canonical)
    if auth.signature(to_sign, request) != fields["Signature"]:
        text = (
            f"{SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
            f"The String-to-Sign should have been\n'{to_sign}'\n"
        )
        return None, Refusal(403, {"message": text}, "InvalidSignatureException")
    decision, _ = evaluate(
        policies_of(access_key), "execute-api:Invoke", [method_arn], {"aws:PrincipalArn": [str(access_key.arn)]}
    )
    if decision is not Decision.ALLOW:
        text = f"User: {access_key.arn} is not authorized to perform: execute-api:Invoke on resource: {method_arn}"
        if decision is Decision.EXPLICIT_DENY:
            text += " with an explicit deny"
        LOG.warning("wake api: %s", text)
        return None, Refusal(403, {"Message": text}, "AccessDeniedException")
    return access_key, None
