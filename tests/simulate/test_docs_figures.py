"""The simulator's figures that README.md and docs/simulate.md quote are what `sleepwake simulate` prints now.

A change to the prices or the policies moves them without a failing test otherwise (985d244's 256 MB Lambda moved
five of them by 0.1-0.6 points unnoticed). This runs the built-in week with the defaults once (its variants give the
naps table) and seeds 8-10 without variants (about 1.5 s each), and looks for each quoted figure as the run prints
it (its table and closing note: simulate.json's figures are rounded to 0.01, and rounding those again can differ).
The planner's chosen setting and the held-out trace come from scripts/simulate_goals.py's sweeps (half an hour),
which this does not re-run.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from sleepwake_cli.main import main

ROOT = Path(__file__).resolve().parents[2]
SEEDS = (8, 9, 10)
PLANNER, NAPS = "sleepwake + planner + fallback", "sleepwake + naps + fallback"
HYBRID, ORACLE = "hybrid histogram (Shahrad et al.) + fallback", "oracle (perfect foresight)"


class Run:
    """One `sleepwake simulate` run: what it printed, and its simulate.json."""

    def __init__(self, stdout: str, report: dict[str, Any]) -> None:
        self.lines = stdout.splitlines()
        self.report = report

    def cells(self, start: str) -> list[str]:
        """The cells after `start` on the table row that begins with it (columns are 2 or more spaces apart)."""
        row = next(line for line in self.lines if line.startswith(start + "  "))
        return re.split(r"\s{2,}", row[len(start) :].strip())

    def saving(self, label: str) -> str:
        return self.cells(label)[3]

    def slow(self, label: str) -> str:
        return self.cells(label)[10]

    def note(self, label: str, pattern: str) -> str:
        """A figure from the policy's line of the closing note."""
        line = next(line for line in self.lines if line.startswith(f"- {label}: "))
        found = re.search(pattern, line)
        assert found, (pattern, line)
        return found.group(1)

    def share(self, label: str) -> str:
        return self.note(label, r"requests \(([\d.]+ %)\) answered by the fallback")


def _text(name: str) -> str:
    """The file's text with every run of whitespace made one space, so a figure wrapped over two lines is found."""
    return " ".join((ROOT / name).read_text(encoding="utf-8").split())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Run]:
    """The built-in week (seed 7, with its variants) and seeds 8-10, each with the defaults."""
    out: dict[int, Run] = {}
    for seed in (7, *SEEDS):
        folder = tmp_path_factory.mktemp(f"seed{seed}")
        args = ["simulate", "--no-chart", "--out", str(folder)]
        args += [] if seed == 7 else ["--seed", str(seed), "--no-variants"]
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            assert main(args) == 0
        out[seed] = Run(stdout.getvalue(), json.loads((folder / "simulate.json").read_text()))
    return out


def test_the_naps_table_is_what_the_built_in_week_prints(runs: dict[int, Run]) -> None:
    week = runs[7]

    table = week.lines[next(i for i, line in enumerate(week.lines) if line.startswith("naps + fallback setting")) :]

    def row(idle: str, check: str, printed: list[str], bold: bool = False) -> str:
        cells = next(c for c in (re.split(r"\s{2,}", line.strip()) for line in table) if c[: len(printed)] == printed)
        _cost, saving, failed, by_fallback, fallback_usd, _wakes = cells[-6:]
        shown = [idle, check, saving, failed, by_fallback, fallback_usd]
        return "| " + " | ".join(f"**{c}**" if bold else c for c in shown) + " |"

    rows = [
        row("15", "15 min", ["(as configured)"], bold=True),
        row("10", "15 min", ["nap idle minutes", "10"]),
        row("20", "15 min", ["nap idle minutes", "20"]),
        row("30", "15 min", ["nap idle minutes", "30"]),
        row("15", "5 min", ["idle check every", "5 min"]),
    ]
    docs = _text("docs/simulate.md")
    assert [r for r in rows if r not in docs] == []


def test_the_keep_warm_ping_row_is_what_the_built_in_week_prints(runs: dict[int, Run]) -> None:
    week = runs[7]
    planner = next(p for p in week.report["policies"] if p["key"] == "sleepwake_planner")
    pings = planner["details"]["fallback"]["keep_warm"]["pings"]
    kept_warm = r"keeping it warm \$([\d.]+) of it"
    row = (
        f"| ping (default) | {week.note(PLANNER, kept_warm)} ({pings} pings) | {week.saving(PLANNER)} | "
        f"{week.slow(PLANNER)} | {week.note(HYBRID, kept_warm)}, {week.slow(HYBRID)} |"
    )
    assert row in _text("docs/simulate.md")


def test_the_planner_defaults_and_the_hybrid_in_the_goals_tables_are_what_each_seed_prints(
    runs: dict[int, Run],
) -> None:
    docs, readme = _text("docs/simulate.md"), _text("README.md")

    def goal_cells(run: Run, label: str) -> str:
        return f"{run.saving(label)}, {run.cells(label)[4]}, {run.slow(label)}, {run.share(label)}"

    for seed, run in runs.items():
        cells = f"| {goal_cells(run, PLANNER)} | {goal_cells(run, HYBRID)} |"
        assert cells in docs, f"seed {seed}: {cells}"

    week = runs[7]
    slow = f", {week.slow(HYBRID)} slow" if week.slow(HYBRID) != "0" else ""
    assert (
        f"| {week.saving(PLANNER)}, {week.share(PLANNER)} | {week.saving(HYBRID)}, {week.share(HYBRID)}{slow} | "
        f"{week.saving(ORACLE)} |"
    ) in readme

    def joined(figures: list[str]) -> str:
        return " / ".join(f.removesuffix(" %") for f in figures) + " %"

    seeds = [runs[s] for s in SEEDS]
    saving, share = joined([r.saving(PLANNER) for r in seeds]), joined([r.share(PLANNER) for r in seeds])
    assert f"| {saving}, {share} | {joined([r.saving(HYBRID) for r in seeds])} |" in readme
