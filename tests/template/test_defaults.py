"""Each default is written once (sleepwake/core/defaults.py) and the template's Parameter defaults agree with it:
a function deployed with the template's defaults decides exactly as the code's defaults do, and so does the
simulator."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from localaws.sagemaker import SageMakerSwitches
from localaws.sagemaker_serverless import ServerlessSwitches
from sleepwake.core import Policy, defaults
from sleepwake.core.report import Prices
from sleepwake.settings import Settings
from sleepwake_cli.deployment import load_template
from sleepwake_cli.main import build_parser
from sleepwake_cli.report import pricing
from sleepwake_cli.simulate.base import ControlPlanePrices, SimulationSettings, SleepwakeSettings
from sleepwake_cli.simulate.engine import Provisioning
from sleepwake_client import SleepwakeClient
from tests.conftest import ROOT

TEMPLATE = load_template(ROOT / "template.yaml")
REQUIRED = {"IC_NAME": "ic", "ENDPOINT_NAME": "endpoint", "STATE_TABLE_NAME": "state"}
# Where the code's default is deliberately not the template's: SCHEDULE_MODE absent means the fixed crons (a
# function deployed before the learned schedule existed), while a new stack defaults to learned.
DIFFERENT_ON_PURPOSE = {"SCHEDULE_MODE"}


@pytest.mark.parametrize("parameter", sorted(defaults.TEMPLATE_PARAMETERS))
def test_each_template_default_is_the_constant(parameter: str) -> None:
    default = TEMPLATE["Parameters"][parameter]["Default"]
    assert str(default) == str(defaults.TEMPLATE_PARAMETERS[parameter])


def _template_environment() -> dict[str, str]:
    """What every function's environment holds with the template's defaults: each `VAR: !Ref Parameter`."""
    variables: dict[str, Any] = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    out = {}
    for name, value in variables.items():
        if isinstance(value, dict) and "Ref" in value and value["Ref"] in TEMPLATE["Parameters"]:
            default = TEMPLATE["Parameters"][value["Ref"]].get("Default")
            if default is not None and name not in DIFFERENT_ON_PURPOSE:
                out[name] = str(default)
    return out


def test_a_function_with_the_template_defaults_has_the_codes_defaults() -> None:
    environment = _template_environment()
    assert len(environment) >= 10, environment  # the reader found the template's variables
    deployed = Settings.model_validate(environment | REQUIRED)
    coded = Settings.model_validate(REQUIRED)
    assert deployed == coded
    assert deployed.policy() == coded.policy()


def test_every_parameter_the_functions_read_has_its_constant() -> None:
    """A new knob read by the functions must get its constant here, or this file would not see it."""
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    read = {v["Ref"] for v in variables.values() if isinstance(v, dict) and v.get("Ref") in TEMPLATE["Parameters"]}
    without_default = {p for p in read if TEMPLATE["Parameters"][p].get("Default") in (None, "")}
    unlisted = read - set(defaults.TEMPLATE_PARAMETERS) - without_default
    assert unlisted <= {"InferenceComponentName", "EndpointName", "ScheduleMode"}, unlisted


def test_the_simulator_replays_the_deployed_defaults() -> None:
    simulated = SleepwakeSettings()
    assert SleepwakeSettings.from_template() == simulated
    policy = Policy(quiet_hours=simulated.quiet_hours())
    assert (policy.idle_minutes, policy.planned_idle_minutes) == (
        simulated.idle_minutes,
        simulated.planned_idle_minutes,
    )
    assert (simulated.nap_idle_minutes, simulated.unplanned_idle_minutes) == (
        defaults.NAP_IDLE_MINUTES,
        defaults.UNPLANNED_IDLE_MINUTES,
    )


def test_the_simulator_plans_with_the_plan_jobs_planner() -> None:
    """The planner the deployed plan job runs is the one the simulator scores (its rule and the instance release it
    weighs naps against included), its lead one provisioning estimate plus a minute in both."""
    deployed = Settings.model_validate(REQUIRED).planner_settings()
    simulated = SimulationSettings().planner

    assert deployed == simulated
    assert deployed.miss_cost_minutes == defaults.PLANNER_MISS_COST_MINUTES
    assert deployed.release_minutes == defaults.INSTANCE_RELEASE_MINUTES


def test_the_cores_policy_defaults_are_a_deployed_functions() -> None:
    """A Policy built without settings (the core's own defaults) decides as a function deployed with the template's
    defaults: every field, the knobs the template does not expose included."""
    deployed = Settings.model_validate(REQUIRED).policy()
    assert Policy(quiet_hours=deployed.quiet_hours) == deployed


def test_the_simulator_decides_with_a_deployed_functions_policy() -> None:
    """The simulator's Policy (with the fallback: naps) is a deployed function's with a fallback, but for what the
    simulator measures on its provisioning model instead of assuming: the provisioning and warm-up estimates."""
    simulated = SleepwakeSettings().policy(Provisioning(), naps=True)
    deployed = Settings.model_validate(REQUIRED | {"FALLBACK_ENDPOINT_NAME": "fallback"}).policy()
    measured = {"provisioning_estimate_seconds", "warmup_estimate_seconds"}
    assert simulated.model_dump(exclude=measured) == deployed.model_dump(exclude=measured)


def test_the_simulator_the_report_and_the_emulator_assume_the_same_platform() -> None:
    """What AWS does that no source pins down, or the price and the slow line, written once and read by each."""
    settings = Settings.model_validate(REQUIRED | {"FALLBACK_ENDPOINT_NAME": "fallback"})
    simulation = SimulationSettings()
    release_seconds = defaults.INSTANCE_RELEASE_MINUTES * 60
    assert simulation.prov.instance_release_seconds == settings.policy().instance_release_seconds == release_seconds
    assert simulation.planner.release_minutes == Prices(1.0, 1.0, 1.0).release_minutes == pricing().release_minutes
    assert SageMakerSwitches().release_seconds == release_seconds
    evict_seconds = settings.fallback_idle_evict_minutes * 60
    assert simulation.fallback.idle_evict_seconds == ServerlessSwitches().idle_evict_seconds == evict_seconds
    assert simulation.fallback.memory_gb * 1024 == defaults.FALLBACK_MEMORY_MB
    assert settings.keep_warm_settings().ping_minutes == defaults.FALLBACK_PING_MINUTES  # (the mode: below)
    assert simulation.price_per_hour == defaults.INSTANCE_PRICE_PER_HOUR
    assert simulation.fallback.price_per_gb_second == defaults.SERVERLESS_PRICE_PER_GB_SECOND
    assert simulation.slow_seconds == defaults.SLOW_SECONDS
    memory_mb = TEMPLATE["Globals"]["Function"]["MemorySize"]  # what a ping and an idle check are billed for
    assert not [name for name, r in TEMPLATE["Resources"].items() if "MemorySize" in r.get("Properties", {})]
    assert simulation.fallback.ping_lambda_gb * 1024 == memory_mb == defaults.LAMBDA_MEMORY_MB
    assert ControlPlanePrices().lambda_per_check == pytest.approx(0.0000002 + memory_mb / 1024 * 0.2 * 0.0000166667)


def test_the_report_command_prices_a_deployed_stack_as_the_simulator_does() -> None:
    """`sleepwake report` with no price flags: the fallback's memory is the template's default, and the prices are
    the simulator's (argparse's defaults are written apart from pricing()'s, so they can drift)."""
    report = build_parser().parse_args(["report"])
    memory_mb = TEMPLATE["Parameters"]["FallbackMemoryMb"]["Default"]
    assert report.fallback_memory_mb == int(memory_mb) == defaults.FALLBACK_MEMORY_MB
    simulation = SimulationSettings()
    assert report.price == simulation.price_per_hour == defaults.INSTANCE_PRICE_PER_HOUR
    assert report.fallback_price_gb_second == simulation.fallback.price_per_gb_second
    assert report.fallback_price_gb_second == defaults.SERVERLESS_PRICE_PER_GB_SECOND


def test_the_simulator_replays_the_product_clients_wake_signals() -> None:
    """The client (a separate package, which cannot import the layer's defaults) signals /wake at most once per
    its wake_interval_seconds while the fallback answers; the simulator replays the same rate."""
    interval = inspect.signature(SleepwakeClient).parameters["wake_interval_seconds"].default
    assert SleepwakeSettings().wake_signal_seconds == interval


def test_the_simulator_keeps_the_fallback_warm_as_a_stack_with_the_template_defaults_does() -> None:
    """FallbackKeepWarm's default (ping) is the simulator's `--keep-warm` default, so `make simulate`'s figures
    (keep-warm cost and slow answers) are a deployed stack's."""
    deployed = Settings.model_validate(_template_environment() | REQUIRED | {"FALLBACK_ENDPOINT_NAME": "fb"})

    assert deployed.keep_warm_settings() == SimulationSettings().keep_warm
    assert TEMPLATE["Parameters"]["FallbackKeepWarm"]["Default"] == "ping"
