"""Does the endpoint give its instances back when the component sleeps? Adopt mode's one precondition.

An inference component at 0 copies only saves money when the endpoint's managed instance scaling may go to
0 instances (ProductionVariantManagedInstanceScaling: Status ENABLED, MinInstanceCount 0; see
docs/aws-behaviour.md §2). Otherwise the instance stays, and is billed, all night while sleepwake says
`asleep`. Create mode's endpoint config sets this; an adopted endpoint is checked at every deploy.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# Endpoint configs are immutable: the fix is a new config and UpdateEndpoint.
FIX = "give the endpoint a config whose ManagedInstanceScaling is Status ENABLED, MinInstanceCount 0"


class VariantScaling(BaseModel):
    """One production variant's ManagedInstanceScaling, as the endpoint config declares it."""

    model_config = ConfigDict(frozen=True)

    variant: str
    status: str | None = None  # ENABLED | DISABLED; None when the variant has no ManagedInstanceScaling
    min_instance_count: int | None = None


def instance_scaling_warnings(endpoint: str, variants: list[VariantScaling]) -> list[str]:
    """One sentence per variant that keeps an instance while the component is at 0 copies; [] when none does."""
    warnings = []
    for v in variants:
        where = f"endpoint {endpoint}, variant {v.variant}"
        if v.status != "ENABLED":
            state = "is not configured" if v.status is None else f"is {v.status}"
            warnings.append(
                f"the endpoint keeps its instances at 0 copies: managed instance scaling {state} ({where}); {FIX}"
            )
        elif v.min_instance_count != 0:
            count = "not set" if v.min_instance_count is None else str(v.min_instance_count)
            warnings.append(
                f"the endpoint keeps its instance at 0 copies: MinInstanceCount is {count} ({where}); {FIX}"
            )
    return warnings
