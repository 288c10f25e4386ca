"""The instances behind a SageMaker endpoint whose inference components place their copies on them (managed
instance scaling): how many there are and when each is ready, how a scale-up makes room for the copies the
endpoint's components want, and the release once every copy is at 0. `localaws.sagemaker`'s registry keeps one
`EndpointInstances` per endpoint and decides when each happens (its lock, its threads, its timings); this module
reads the endpoint config and does the counting.

Sources:
- The instances are the endpoint's own: `ManagedInstanceScaling` Min/MaxInstanceCount of its endpoint config's
  variant, and `InitialInstanceCount` present from the endpoint's creation (botocore's sagemaker model,
  ProductionVariant and ProductionVariantManagedInstanceScaling). With managed scaling DISABLED the initial
  instances stay.
- A copy that needs a new instance waits for the instance first, then the copy; a copy placed on an instance the
  endpoint still has waits for the copy only (AWS's scale-to-zero blog, "Unlock cost savings with the new scale
  down to zero feature in SageMaker Inference", Dec 2024: the instance and the model copy are two phases).
- The instances go down to MinInstanceCount after every copy of every IC on the endpoint reached 0 (the
  scale-to-zero docs and blog; the delay is `SageMakerSwitches.release_seconds`, docs/aws-behaviour.md §2); any
  scale-up before then keeps them.
- DescribeEndpoint reports the count as `ProductionVariants[].CurrentInstanceCount` (a field of the botocore
  model's ProductionVariantSummary; `localaws.sagemaker_api`).

Differs from AWS: copies beyond MaxInstanceCount x copies_per_instance are placed anyway (AWS would leave them
pending); an instance a sleeping IC freed stays while other copies run (AWS's managed instance scaling may
release it sooner; its delay is not documented).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from moto.sagemaker import models as sm_models


@dataclass
class EndpointInstances:
    """The instances behind one endpoint: when each is (or will be) ready, and the managed scaling bounds."""

    endpoint_name: str
    ready_at: list[datetime]
    min_count: int = 0
    max_count: int | None = None
    generation: int = 0  # bumped by every scale-up, so a pending release sees it is no longer due
    history: list[tuple[datetime, int]] = field(default_factory=list)  # (time, instances present)

    def present(self, now: datetime) -> int:
        return sum(1 for at in self.ready_at if at <= now)

    def make_room(self, copies: int, copies_per_instance: int, instance_seconds: float, now: datetime) -> int:
        """Instances enough for `copies` copies of the endpoint's components (at most MaxInstanceCount): each one
        added is ready `instance_seconds` from now. Cancels a pending release. Returns how many were added."""
        self.generation += 1
        added = 0
        while len(self.ready_at) < self.needed(copies, copies_per_instance):
            self.ready_at.append(now + timedelta(seconds=instance_seconds))
            added += 1
        if added:
            self.history.append((now, len(self.ready_at)))
        return added

    def needed(self, copies: int, copies_per_instance: int) -> int:
        """Instances `copies` copies take: at least one, at most MaxInstanceCount."""
        needed = max(1, -(-copies // max(1, copies_per_instance)))
        return needed if self.max_count is None else min(needed, max(1, self.max_count))

    def seconds_until_room(self, copies: int, copies_per_instance: int, now: datetime) -> float:
        """Emulated seconds until the last instance `copies` copies need is ready (0 when they all are)."""
        last_ready = sorted(self.ready_at)[self.needed(copies, copies_per_instance) - 1]
        return max(0.0, (last_ready - now).total_seconds())

    def release(self, now: datetime) -> None:
        """Down to MinInstanceCount."""
        self.ready_at = self.ready_at[: self.min_count]
        self.history.append((now, len(self.ready_at)))


def from_endpoint_config(account: str, region: str, endpoint_name: str, now: datetime) -> EndpointInstances:
    """The endpoint's instances as its endpoint config sets them: InitialInstanceCount, present from creation (so
    read at or after it, they are there by now), and ManagedInstanceScaling's bounds."""
    initial, low, high = 1, 0, None
    backend = sm_models.sagemaker_backends[account][region]
    endpoint = backend.endpoints.get(endpoint_name)
    config = backend.endpoint_configs.get(endpoint.endpoint_config_name) if endpoint else None
    variants = config.production_variants if config else []
    if variants:
        initial = int(variants[0].get("InitialInstanceCount") or 0)
        scaling = variants[0].get("ManagedInstanceScaling") or {}
        if scaling.get("Status", "ENABLED") == "ENABLED":
            low = int(scaling.get("MinInstanceCount", 0))
            high = int(scaling["MaxInstanceCount"]) if "MaxInstanceCount" in scaling else None
        else:
            low = initial
    instances = EndpointInstances(endpoint_name, [now] * initial, low, high)
    instances.history.append((now, initial))
    return instances
