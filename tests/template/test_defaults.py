"""Each default is written once (sleepwake/core/defaults.py) and the template's Parameter defaults agree with it:
a function deployed with the template's defaults decides exactly as the code's defaults do, and so does the
simulator."""

from __future__ import annotations

from typing import Any

import pytest

from sleepwake.core import Policy, defaults
from sleepwake.settings import Settings
from sleepwake_cli.deployment import load_template
from sleepwake_cli.simulate.base import SimulationSettings, SleepwakeSettings
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
