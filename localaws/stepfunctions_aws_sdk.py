"""Step Functions' AWS SDK service integrations (`arn:aws:states:::aws-sdk:<service>:<action>`) as moto's interpreter
lacks them (`localaws.stepfunctions` installs what is here into it): the ASL service names boto3 spells otherwise,
the error names a task reports (`<Service>.<Shape>Exception`, or `<Service>.<Service>Exception` for an error the
service's API model does not declare), and datetimes in results as ISO-8601 strings. Sources below.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service

# ASL service names (the Step Functions console's and the developer guide's "AWS SDK service integrations"
# list) that boto3 spells otherwise; moto's interpreter maps some (`_SERVICE_NAME_SFN_TO_BOTO_OVERRIDES`), not these.
BOTO_NAMES = {
    "sagemakerruntime": "sagemaker-runtime",
    "applicationautoscaling": "application-autoscaling",
    "eventbridge": "events",
    "cloudwatchlogs": "logs",
}


# ------------------------------------------------------------------------------------ aws-sdk errors
# What we followed, and where the sources are silent:
# - AWS (Step Functions developer guide, "AWS SDK service integrations"): the error is `ServiceName.ErrorName`,
#   both PascalCase, always with an `Exception` suffix (`AcmPca.ResourceNotFoundException`,
#   `S3.BucketAlreadyExistsException` for the undecorated `BucketAlreadyExists`). It says the target service's API
#   reference lists the possible names, and says nothing of errors the API does not declare.
# - LocalStack (localstack-core, `StateTaskServiceAwsSdk._normalise_exception_name`): the SDK's exception class
#   name, and for an error the service model does not declare (a plain ClientError) the service's own name:
#   `<Service>.<Service>Exception`. Its snapshot tests recorded against AWS show exactly that
#   (tests/aws/services/stepfunctions/v2/error_handling/test_aws_sdk.snapshot.json: a DynamoDB
#   ValidationException arrives as `DynamoDb.DynamoDbException`, a Secrets Manager one as
#   `SecretsManager.SecretsManagerException`). Both sources agree with the names the AWS SDK for Java v2
#   generates (aws-sdk-java-v2 `DefaultNamingStrategy`: service name = PascalCase of the model's serviceId,
#   exception = PascalCase of the error shape + `Exception`; unmodelled errors raise `<Service>Exception`).
# - Silent: the service part for services neither source shows (SageMaker, Application Auto Scaling, CloudWatch,
#   SNS). LocalStack's binding covers DynamoDb and Sfn only and otherwise takes the serviceId without spaces
#   ("SNS"); the Java SDK's rule gives "Sns". `localaws.stepfunctions.StepFunctionsSwitches.service_prefix` picks
#   one ("java" by default, "service_id" for LocalStack's); the project's state machines name these services only
#   where both rules agree, and tests/template check that under both.
# - Which errors are "declared": botocore raises a named exception class for every error shape of the service
#   (botocore errorfactory), as the Java SDK does, so a shape declared for another operation of the same
#   service keeps its name; the ASL checker is stricter and allows only the operation's own shapes.
_SERVICE_ERROR_NAMES = {"dynamodb": "DynamoDb", "sfn": "Sfn"}  # LocalStack's explicit bindings


def _split_words(name: str) -> list[str]:
    """aws-sdk-java-v2 `CodegenNamingUtils.splitOnWordBoundaries`: "ACM PCA" -> [ACM, PCA], "DynamoDB" ->
    [Dynamo, DB], "ResourceNotFound" -> [Resource, Not, Found]."""
    text = re.sub(r"[^A-Za-z0-9]+", " ", name)
    text = re.sub(r"([^a-z]{2,})v([0-9]+)", r"\1 v\2 ", text)
    text = re.sub(r"([^A-Z]{2,})V([0-9]+)", r"\1 V\2 ", text)
    text = " ".join(re.split(r"(?<=[a-z])(?=[A-Z]([a-zA-Z]|[0-9]))", text)[::2])
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"([0-9])([a-zA-Z])", r"\1 \2", text)
    return re.sub(" +", " ", text).strip().split(" ")


def pascal_case(name: str) -> str:
    return "".join(word.lower().capitalize() for word in _split_words(name))


def service_error_prefix(sfn_service: str, rule: str) -> str:
    """The service part of an aws-sdk error name for the ASL service name (`sagemaker` -> `SageMaker`), by `rule`
    ("java" or "service_id", see above)."""
    if sfn_service.lower() in _SERVICE_ERROR_NAMES:
        return _SERVICE_ERROR_NAMES[sfn_service.lower()]
    service_id = _service_id(sfn_service)
    if service_id is None:
        return sfn_service
    if rule == "service_id":
        return service_id.replace(" ", "")
    prefix = pascal_case(service_id)
    for lead in ("Amazon", "Aws"):
        prefix = prefix.removeprefix(lead) if prefix != lead else prefix
    return prefix.removesuffix("Service") if prefix != "Service" else prefix


@functools.cache
def _service_id(sfn_service: str) -> str | None:
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    boto = {**state_task_service.StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES, **BOTO_NAMES}.get(
        sfn_service.lower(), sfn_service.lower()
    )
    session = botocore.session.get_session()
    if boto not in session.get_available_services():  # ASL drops the dashes: acmpca is acm-pca
        boto = next((n for n in session.get_available_services() if n.replace("-", "") == boto), boto)
    try:
        return str(session.get_service_model(boto).service_id)
    except UnknownServiceError:
        return None


def exception_name(shape: str) -> str:
    """aws-sdk-java-v2 `DefaultNamingStrategy.getExceptionName`: `ResourceNotFound` -> `ResourceNotFoundException`."""
    if shape.endswith("Fault"):
        return pascal_case(shape.removesuffix("Fault")) + "Exception"
    return pascal_case(shape) if shape.endswith("Exception") else pascal_case(shape) + "Exception"


def aws_sdk_error_name(sfn_service: str, shape: str | None, rule: str) -> str:
    """The error a Task on `arn:aws:states:::aws-sdk:<sfn_service>:...` reports for a declared error `shape`, or
    for an undeclared one (`shape=None`)."""
    prefix = service_error_prefix(sfn_service, rule)
    return f"{prefix}.{exception_name(shape) if shape else prefix + 'Exception'}"


def stringify_datetimes(value: Any) -> Any:
    """Datetimes in an aws-sdk task's result as ISO-8601 strings (moto otherwise breaks DescribeExecution)."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return value.astimezone(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: stringify_datetimes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stringify_datetimes(v) for v in value]
    return value
