"""Adopt mode's precondition: the endpoint may scale its instances to 0, or sleeping saves nothing."""

from __future__ import annotations

from sleepwake.core.endpoint import VariantScaling, instance_scaling_warnings


def test_an_endpoint_that_may_drop_to_zero_instances_gets_no_warning():
    variants = [VariantScaling(variant="AllTraffic", status="ENABLED", min_instance_count=0)]
    assert instance_scaling_warnings("ep", variants) == []


def test_an_endpoint_that_keeps_an_instance_is_named_with_its_minimum():
    variants = [VariantScaling(variant="AllTraffic", status="ENABLED", min_instance_count=1)]
    (warning,) = instance_scaling_warnings("ep", variants)
    assert warning.startswith("the endpoint keeps its instance at 0 copies: MinInstanceCount is 1")
    assert "endpoint ep, variant AllTraffic" in warning
    assert "MinInstanceCount 0" in warning  # says what to change


def test_an_endpoint_without_managed_instance_scaling_keeps_its_instances():
    unset = VariantScaling(variant="AllTraffic")
    disabled = VariantScaling(variant="Other", status="DISABLED", min_instance_count=0)
    warnings = instance_scaling_warnings("ep", [unset, disabled])
    assert ["is not configured" in w for w in warnings] == [True, False]
    assert "is DISABLED" in warnings[1]


def test_a_minimum_left_unset_is_not_taken_for_zero():
    variants = [VariantScaling(variant="AllTraffic", status="ENABLED")]
    assert "MinInstanceCount is not set" in instance_scaling_warnings("ep", variants)[0]
