"""Application Auto Scaling for the component's copy count: read the bounds a wake must restore.

The state machines move MinCapacity themselves (aws-sdk tasks); this adapter only reads it.
"""

from __future__ import annotations

from typing import Any

DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


def resource_id(component: str) -> str:
    return f"inference-component/{component}"


class CopyScaling:
    def __init__(self, client: Any) -> None:
        self._aas = client

    def bounds(self, component: str) -> tuple[int, int] | None:
        targets = self._aas.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[resource_id(component)], ScalableDimension=DIMENSION
        )["ScalableTargets"]
        if not targets:
            return None
        return targets[0]["MinCapacity"], targets[0]["MaxCapacity"]
