"""The CloudFormation custom-resource protocol the deploy-time handlers answer (PostDeployWarmup, scaling
adoption): one PUT of the JSON response to the request's pre-signed URL (CloudFormation User Guide, "Custom
resources": response objects). cfnresponse is importable only for inline (ZipFile) code, and crhelper adds
polling these handlers do not need."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def send(url: str, response: dict[str, Any]) -> None:
    body = json.dumps(response).encode()
    request = urllib.request.Request(
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()
