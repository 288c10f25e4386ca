"""A stack's first-week keep-warm cost, as docs/fallback.md and README.md quote it, is what the paragraph's own
commands print now.

docs/fallback.md ("A stack's first week costs a little more") replays the built-in week as a CSV, which gives the
planner no history (`scripts/make_trace.py --profile built-in-week`, then `sleepwake simulate --trace week.csv
--keep-warm ping --no-variants`, and `none` for the answers over 3 s it saves), and a two-request week for a
stack nobody uses; README's parameter table quotes the range beside the built-in week's cost with history (a
fourth run). 985d244's 256 MB Lambda pricing moved $0.15 to $0.16 there without a failing test. Each run is
`--no-variants`, one to two seconds.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from scripts import make_trace
from sleepwake_cli.main import main

ROOT = Path(__file__).resolve().parents[2]
PLANNER = "sleepwake + planner + fallback"
# The stack nobody uses: one request at the built-in week's first minute and one at its last.
IDLE_ROWS = ("2025-05-05T07:00:00Z", "2025-05-12T06:59:00Z")


@dataclass(frozen=True)
class FirstWeek:
    """What one run printed for the planner: its keep-warm cost as printed, pings, answers over 3 s, history."""

    cost: str
    pings: int
    slow: int
    history: str


def simulate(trace: Path | None, keep_warm: str, out: Path) -> FirstWeek:
    """`sleepwake simulate [--trace TRACE] --keep-warm MODE --no-variants` (no chart), read as a reader reads it;
    without a trace, the built-in week with its three earlier weeks as the planner's history."""
    args = ["simulate", *(["--trace", str(trace)] if trace else []), "--keep-warm", keep_warm, "--no-variants"]
    args += ["--no-chart", "--out"]
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main([*args, str(out)]) == 0
    lines = stdout.getvalue().splitlines()
    note = next(line for line in lines if line.startswith(f"- {PLANNER}: "))
    cost = re.search(r"keeping it warm (\$[\d.]+) of it", note)
    slow = re.search(r"(\d+) answers? over 3 s", note)
    assert cost and slow, note
    planner = next(
        p for p in json.loads((out / "simulate.json").read_text())["policies"] if p["key"] == "sleepwake_planner"
    )
    pings = planner["details"]["fallback"]["keep_warm"]["pings"]
    return FirstWeek(cost.group(1), pings, int(slow.group(1)), lines[0])


def text(name: str) -> str:
    """The file's text with every run of whitespace one space, so a figure wrapped over two lines is found."""
    return " ".join((ROOT / name).read_text(encoding="utf-8").split())


def test_the_first_week_keep_warm_figures_quoted_are_what_their_commands_print(tmp_path: Path) -> None:
    week, idle = tmp_path / "week.csv", tmp_path / "idle.csv"
    assert make_trace.main(["--profile", "built-in-week", str(week)]) == 0
    idle.write_text("timestamp\n" + "".join(f"{row}\n" for row in IDLE_ROWS))
    pinged = simulate(week, "ping", tmp_path / "ping")
    cold = simulate(week, "none", tmp_path / "none")
    unused = simulate(idle, "ping", tmp_path / "idle")
    assert {run.history for run in (pinged, cold, unused)} == {
        "planner history: none (the trace has 7 days); it follows the crons until it has learned"
    }

    docs = text("docs/fallback.md")
    commands = [
        "`python scripts/make_trace.py --profile built-in-week week.csv`",
        "`sleepwake simulate --trace week.csv --keep-warm ping --no-variants`",
        f"`printf 'timestamp\\n{IDLE_ROWS[0]}\\n{IDLE_ROWS[1]}\\n' > idle.csv`",
    ]
    assert [command for command in commands if command not in docs] == []
    quoted = [
        f"that is **{pinged.cost}**: {pinged.pings:,} pings and sleep pre-warms, {pinged.slow} answers over 3 s "
        f"against {cold.slow} with `none`",
        f"that is **{unused.cost}**: {unused.pings:,} pings and sleep pre-warms",
    ]
    assert [figures for figures in quoted if figures not in docs] == []
    # README's sentence sets the range beside the week with history (docs/fallback.md, "What it costs a week").
    learned = simulate(None, "ping", tmp_path / "learned")
    assert learned.history.startswith("planner history: 3 earlier synthetic weeks")
    assert f"costs **{learned.cost} a week**: {learned.pings:,} pings and sleep pre-warms" in docs
    readme = f"about {learned.cost} a week on the built-in week, {pinged.cost} to {unused.cost} in a stack's first week"
    assert readme in text("README.md")
