"""The test suite hands its longest tests out first (tests/scheduling.py), so both workers finish close together,
and its table of costs names only tests that exist."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.scheduling import COST, SPLIT_ACROSS_WORKERS, longest_first

ROOT = Path(__file__).resolve().parents[2]


def _test_functions(module: str) -> set[str]:
    tree = ast.parse((ROOT / module).read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_cost_names_an_existing_module_or_test():
    missing = []
    for name in [*COST, *SPLIT_ACROSS_WORKERS]:
        module, _, test = name.partition("::")
        if not (ROOT / module).is_file() or (test and test not in _test_functions(module)):
            missing.append(name)
    assert not missing, f"tests/scheduling.py names what no longer exists: {missing}"


def test_tests_are_named_only_in_split_modules():
    """A test's own cost orders it only among its module's tests, which only a split module's are."""
    assert all(name.split("::")[0] in SPLIT_ACROSS_WORKERS for name in COST if "::" in name)


def test_the_costliest_modules_go_first_and_the_others_keep_their_order():
    collected = [
        "tests/unit/test_a.py::test_one",
        "tests/e2e/test_report.py::test_report",
        "tests/unit/test_b.py::test_two",
        "tests/cli/test_cli_on_local_stack.py::test_status",
        "tests/cli/test_cli_on_local_stack.py::test_wake",
        "tests/unit/test_a.py::test_three",
    ]
    assert longest_first(collected) == [
        "tests/cli/test_cli_on_local_stack.py::test_status",  # a module keeps its tests' order
        "tests/cli/test_cli_on_local_stack.py::test_wake",
        "tests/e2e/test_report.py::test_report",
        "tests/unit/test_a.py::test_one",
        "tests/unit/test_a.py::test_three",
        "tests/unit/test_b.py::test_two",
    ]


def test_a_split_modules_tests_stay_together_the_longest_first_with_every_parameter_set():
    night = "tests/e2e/test_night.py"
    collected = [
        f"{night}::test_wakes_racing_from_separate_lambda_containers_start_one_wake",
        f"{night}::test_a_wake_succeeds[ResourceInUse]",
        "tests/e2e/test_replay.py::test_a_replayed_morning@tests/e2e/test_replay.py",
        f"{night}::test_a_wake_succeeds[Conflict]",
        f"{night}::test_a_whole_night_runs_phase_by_phase",
    ]
    assert longest_first(collected) == [
        f"{night}::test_a_whole_night_runs_phase_by_phase",  # named: 62 s; the others share the module's 50 s
        f"{night}::test_wakes_racing_from_separate_lambda_containers_start_one_wake",
        f"{night}::test_a_wake_succeeds[ResourceInUse]",
        f"{night}::test_a_wake_succeeds[Conflict]",
        "tests/e2e/test_replay.py::test_a_replayed_morning@tests/e2e/test_replay.py",
    ]
