"""`make preflight` keeps `sleepwake preflight`'s verdict readable from make's own exit status: warnings pass
(make cannot exit 1: it exits 2 whenever a recipe fails), failures fail."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("cli", "make"), [(0, 0), (1, 0), (2, 2)])
def test_make_preflight_passes_on_warnings_and_fails_on_failures(tmp_path: Path, cli: int, make: int) -> None:
    # A stand-in for the venv's python that exits as `sleepwake preflight` would; -o keeps make from running setup.
    (tmp_path / "python").write_text(f'#!/bin/sh\necho "ran: $*"\nexit {cli}\n')
    (tmp_path / "python").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    done = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "preflight", f"BIN={tmp_path}", "PREFLIGHT_ARGS=--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == make, done.stderr
    assert done.stdout == "ran: -m sleepwake_cli preflight --json\n"
    assert ("warnings only" in done.stderr) is (cli == 1)
