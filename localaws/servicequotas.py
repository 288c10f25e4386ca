"""Service Quotas for SageMaker Serverless Inference, added to moto's backend (moto 5.2.5 knows only `vpc`).

The quota: SageMaker `L-96300102`, "Maximum total concurrency that can be allocated across all serverless
endpoints" (per account and region; every serverless endpoint's MaxConcurrency counts against it). The code is
the one the Service Quotas console links for that name (public READMEs and code that request it:
`servicequotas/home/services/sagemaker/quotas/L-96300102`).

- `GetAWSDefaultServiceQuota` answers AWS's default. The SageMaker developer guide's serverless page (as the
  SageMaker examples quote it) gives 200 for "the total concurrency you can share between all serverless
  endpoints per Region in your account"; accounts have reported an applied value of 10 (AWS re:Post, "total
  concurrency for serverless inference is not 200 only 10"). So the default is 200 and the applied value is a
  switch.
- `GetServiceQuota` answers the applied value. Its API reference: "If the applied quota value is not available
  for a quota, the quota is not retrieved" - NoSuchResourceException. With `ServiceQuotasSwitches.applied` None
  (the default) it answers that; set (e.g. 10, as those accounts saw) it answers that value. Tests run both.
- Other services and codes: moto's own answers (vpc) or NoSuchResourceException, as moto does.

Differs from AWS: no quota history, requests or utilisation metrics; the same value in every region.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.servicequotas import models as sq_models
from moto.servicequotas import responses as sq_responses
from moto.servicequotas.exceptions import NoSuchResource

SERVICE_CODE = "sagemaker"
QUOTA_CODE = "L-96300102"
AWS_DEFAULT = 200.0


class _NotApplied(JsonRESTError):
    def __init__(self) -> None:
        # The exception's own description in the Service Quotas API reference.
        super().__init__("NoSuchResourceException", "The specified resource does not exist.")


class ServiceQuotasSwitches:
    applied: float | None = None  # the account's applied value; None = none applied (GetServiceQuota refuses)


def _quota(region: str, value: float) -> dict[str, Any]:
    return {
        "Adjustable": True,
        "GlobalQuota": False,
        "QuotaArn": f"arn:aws:servicequotas:{region}::{SERVICE_CODE}/{QUOTA_CODE}",
        "QuotaCode": QUOTA_CODE,
        "QuotaName": "Maximum total concurrency that can be allocated across all serverless endpoints",
        "ServiceCode": SERVICE_CODE,
        "ServiceName": "Amazon SageMaker",
        "Unit": "None",
        "Value": value,
    }


_ORIGINAL_LIST = sq_models.ServiceQuotasBackend.list_aws_default_service_quotas
_ORIGINAL_GET = sq_models.ServiceQuotasBackend.get_service_quota


def _list_defaults(self: Any, service_code: str) -> list[dict[str, Any]]:
    if service_code == SERVICE_CODE:
        return [_quota(self.region_name, AWS_DEFAULT)]
    return list(_ORIGINAL_LIST(self, service_code))


def _get_default(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
    for quota in _list_defaults(self, service_code):
        if quota["QuotaCode"] == quota_code:
            return quota
    raise NoSuchResource()


def _get_applied(self: Any, service_code: str, quota_code: str) -> dict[str, Any]:
    if (service_code, quota_code) == (SERVICE_CODE, QUOTA_CODE):
        if ServiceQuotasSwitches.applied is None:
            raise _NotApplied()
        return _quota(self.region_name, float(ServiceQuotasSwitches.applied))
    return dict(_ORIGINAL_GET(self, service_code, quota_code))


def _get_aws_default_service_quota(self: Any) -> str:
    params = json.loads(self.body)
    quota = self.backend.get_aws_default_service_quota(str(params.get("ServiceCode")), str(params.get("QuotaCode")))
    return json.dumps({"Quota": quota})


def install() -> None:
    backend: Any = sq_models.ServiceQuotasBackend
    backend.list_aws_default_service_quotas = _list_defaults
    backend.get_aws_default_service_quota = _get_default
    backend.get_service_quota = _get_applied
    response: Any = sq_responses.ServiceQuotasResponse
    response.get_aws_default_service_quota = _get_aws_default_service_quota
