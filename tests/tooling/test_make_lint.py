"""`make lint` is where the linters run (pytest does not run them again), and CI runs it before the tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

LINTERS = [
    ".venv/bin/ruff check .",
    ".venv/bin/ruff format --check .",
    ".venv/bin/mypy",
    ".venv/bin/shellcheck",
    ".venv/bin/cfn-lint template.yaml",
    ".tools/sam/bin/sam validate --lint",
    ".tools/checkov/bin/checkov -f template.yaml",
    "scripts/lint_iam.py",
]


def test_make_lint_runs_every_linter_on_the_code_and_the_template():
    # -n prints the recipe without running it; -o keeps make from (re)running the set-up it depends on.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    recipe = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", "lint"], cwd=REPO, capture_output=True, text=True, check=True, env=env
    ).stdout
    assert [linter for linter in LINTERS if linter not in recipe] == []


def test_ci_runs_the_linters_then_every_test():
    commands = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert commands.index("make lint") < commands.index("make test")
