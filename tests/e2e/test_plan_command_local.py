"""`sleepwake plan` against the local stack: the learned week from the emulator's CloudWatch, the heatmap, and
`--apply` running the deployment's plan job."""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime

import pytest

from localaws.demo import ET
from localaws.demo_planner import office_hours, seed_history
from sleepwake import runtime
from sleepwake_cli.main import main
from tests.stacks import DEMO_PROVISIONING, local_stack

START = datetime(2026, 11, 25, 6, 0, tzinfo=ET).astimezone(UTC)  # a Wednesday morning


def test_sleepwake_plan_prints_the_learned_week_writes_the_heatmap_and_applies_the_plan(tmp_path, monkeypatch):
    deployment = tmp_path / "deployment.json"
    with (
        contextlib.redirect_stdout(io.StringIO()),
        local_stack(
            start=START, provisioning_seconds=DEMO_PROVISIONING, parameters={}, deployment_file=deployment
        ) as local,
    ):
        with local.clock.paused():
            seed_history(local, office_hours(14, START))
        # No environment changes: the deployment file says where the stack is and whose keys sign. (A
        # monkeypatched variable would be "restored" after the emulator restored its own, leaking the dead
        # emulator's endpoint into later tests.)
        runtime.reset()
        out = io.StringIO()
        with contextlib.redirect_stdout(out), local.clock.paused():
            code = main(["plan", "--deployment-file", str(deployment), "--out", str(tmp_path), "--apply"])
    text = out.getvalue()
    assert code == 0, text
    wednesday = next(line for line in text.splitlines() if line.startswith("Wed 2026-11-25"))
    assert "  08:" in wednesday and "-> 17:00" in wednesday, wednesday  # woken before 09:00, through the day
    assert next(line for line in text.splitlines() if line.startswith("Sat 2026-11-28")).endswith("asleep all day")
    assert (tmp_path / "plan.png").stat().st_size > 10_000
    assert "plan job (learned mode): stored 2026-11-25 learned, 2026-11-26 learned; 2 planned wake(s)" in text


@pytest.fixture(autouse=True)
def _forget_the_cli_plane():
    yield
    runtime.reset()
