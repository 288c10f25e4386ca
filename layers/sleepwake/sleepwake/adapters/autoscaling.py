"""Application Auto Scaling for the component's copy count: move MinCapacity with every sleep and wake."""

from __future__ import annotations

from typing import Any

DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


def resource_id(component: str) -> str:
    return f"inference-component/{component}"


class CopyScaling:
    def __init__(self, client: Any) -> None:
        self._aas = client

    def set_bounds(self, component: str, min_capacity: int, max_capacity: int) -> None:
        """Re-registering an existing target updates its bounds and keeps its policies (AWS docs)."""
        self._aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource_id(component),
            ScalableDimension=DIMENSION,
            MinCapacity=min_capacity,
            MaxCapacity=max_capacity,
        )

    def bounds(self, component: str) -> tuple[int, int] | None:
        targets = self._aas.describe_scalable_targets(
            ServiceNamespace="sagemaker", ResourceIds=[resource_id(component)], ScalableDimension=DIMENSION
        )["ScalableTargets"]
        if not targets:
            return None
        return targets[0]["MinCapacity"], targets[0]["MaxCapacity"]
