"""The order pytest-xdist hands tests to its workers: longest first.

`--dist loadgroup` (pyproject.toml) queues the groups in collection order when `--no-loadscope-reorder` is given
(xdist's own reorder puts the groups with the most tests first, whatever they cost: it left the longest tests,
one-test groups, for the end, and one worker ran them alone for minutes). Collection order is set here:
longest-processing-time first (LPT, Graham 1969), the classic rule for spreading jobs over identical machines,
so what is left for the end is short and the workers finish close together.

A module is one group (tests/conftest.py), but for the modules in SPLIT_ACROSS_WORKERS, whose tests are each a
group of their own: each such module's tests stay one after another (a worker that takes several of them
deploys the module-scoped stack once: tests/stacks.py `as_deployed` puts it back between tests), longest
first. Modules are ordered by their cost, the sum of their tests'.

COST is what a module or one test (a node id without its parameters: every parameter set) costs, in wall
seconds of a full run on this 2-core machine (each test's set-up, call and teardown, main 35e4e1c at load 4-6);
a test not named costs its module's figure shared out, a module not named nothing (it keeps its
place, after the named ones: the many short modules fill the gaps at the end). A figure only has to put the
modules in about the right order; tests/tooling/test_test_scheduling.py checks that each one names a test that
exists.
"""

from __future__ import annotations

from collections.abc import Sequence

# Modules whose tests are each a group of their own (they are long, and their tests share no module-scoped state
# that each worker could not build): every worker takes from them.
SPLIT_ACROSS_WORKERS = {
    "tests/e2e/test_night.py",
    "tests/e2e/test_dead_executions.py",
    "tests/e2e/test_fallback.py",
    "tests/e2e/test_make_local.py",
}

COST: dict[str, float] = {
    # split modules: per test
    "tests/e2e/test_night.py::test_a_whole_night_runs_phase_by_phase": 57,
    "tests/e2e/test_night.py::test_three_hundred_concurrent_wakes_start_one_wake_and_one_scale_up": 24,
    "tests/e2e/test_night.py": 40,  # its other tests
    "tests/e2e/test_fallback.py::test_a_whole_night_with_naps_fails_no_request": 45,
    "tests/e2e/test_fallback.py::test_a_request_to_a_sleeping_component_gets_a_200_from_the_fallback"
    "_and_starts_the_wake": 40,  # the real model's deploy
    "tests/e2e/test_fallback.py": 10,
    "tests/e2e/test_make_local.py::test_the_printed_lines_work_pasted_and_what_happens_is_printed_in_emulated_time": 28,
    "tests/e2e/test_make_local.py::test_a_stop_signal_during_the_deploy_stops_it_at_once": 15,
    "tests/e2e/test_make_local.py": 1,
    "tests/e2e/test_dead_executions.py": 22,
    # modules, one group each
    "tests/cli/test_cli_on_local_stack.py": 124,
    "tests/e2e/test_replay.py": 40,  # its two tests 15 + 27 s in `-n 2 tests/e2e` at load 7-9 (was 77: s23)
    "tests/e2e/test_product.py": 48,
    "tests/e2e/test_adopt_recipe.py": 32,
    "tests/e2e/test_learned_day.py": 22,
    "tests/cli/test_preflight.py": 21,
    "tests/e2e/test_keep_warm.py": 20,
    "tests/e2e/test_local_api.py": 18,
    "tests/localaws/test_deploy_refusals.py": 18,
    "tests/e2e/test_stack_reset.py": 17,
    "tests/e2e/test_report.py": 17,
    "tests/simulate/test_bad_input.py": 16,
    "tests/e2e/test_two_stacks.py": 16,
    "tests/model/test_handler.py": 14,
    "tests/localaws/test_stepfunctions.py": 13,
    "tests/localaws/test_autoscaling_and_alarms.py": 13,
    "tests/e2e/test_iam.py": 13,
    "tests/localaws/test_sagemaker_refusals.py": 12,
    "tests/localaws/test_target_tracking.py": 9,
    "tests/e2e/test_preflight_local.py": 9,
    "tests/localaws/test_clock.py": 9,
    "tests/localaws/test_two_phase_provisioning.py": 8,
    "tests/e2e/test_plan_command_local.py": 6,
}


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _test(nodeid: str) -> str:
    """The node id without its parameters and xdist group: what COST names a test by."""
    return nodeid.split("@", 1)[0].split("[", 1)[0]


def longest_first(nodeids: Sequence[str]) -> list[str]:
    """`nodeids` (in collection order) in the order to hand them out: modules by cost, the highest first (the
    others after, as collected); within a split module, its tests by cost, the highest first."""
    modules: dict[str, list[str]] = {}
    for nodeid in nodeids:
        modules.setdefault(_module(nodeid), []).append(nodeid)

    def cost(nodeid: str) -> float:
        module = _module(nodeid)
        named = COST.get(_test(nodeid))
        if named is not None:
            return named / sum(1 for other in modules[module] if _test(other) == _test(nodeid))
        unnamed = [other for other in modules[module] if _test(other) not in COST]
        return COST.get(module, 0.0) / len(unnamed)

    def module_cost(module: str) -> float:
        return sum(cost(nodeid) for nodeid in modules[module])

    out: list[str] = []
    for module in sorted(modules, key=module_cost, reverse=True):  # stable: unnamed modules keep their order
        tests = modules[module]
        out += sorted(tests, key=cost, reverse=True) if module in SPLIT_ACROSS_WORKERS else tests
    return out
