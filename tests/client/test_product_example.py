"""docs/examples/product.py, a product in a few lines: what it says when its files are wrong (its request itself
runs against `make local` in tests/e2e/test_product.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUTPUTS = {"EndpointName": "ep", "InferenceComponentName": "ic", "FallbackEndpointName": "ep-fallback"}


def product(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ) | {"PYTHONPATH": str(ROOT / "client")}  # a worker may hold a ThreadEnviron (no |)
    return subprocess.run(
        [sys.executable, str(ROOT / "docs/examples/product.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("listed", [False, True], ids=["object", "describe-stacks list"])
def test_a_missing_audio_file_is_one_line_naming_it(tmp_path: Path, listed: bool) -> None:
    outputs = tmp_path / "outputs.json"
    given = [{"OutputKey": k, "OutputValue": v} for k, v in OUTPUTS.items()] if listed else OUTPUTS
    outputs.write_text(json.dumps(given))
    run = product(str(outputs), str(tmp_path / "missing.wav"))
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "missing.wav" in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_outputs_that_are_not_json_are_one_line_naming_the_file(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text("EndpointName=ep")
    run = product(str(outputs), str(ROOT / "layers/sleepwake/sleepwake/assets/warmup.wav"))
    assert run.returncode == 1
    assert run.stderr.startswith(f"product.py: {outputs} is not JSON") and run.stderr.count("\n") == 1, run.stderr


@pytest.mark.parametrize("given", [{"FallbackEndpointName": "ep-fallback"}, 42], ids=["another stack's", "a number"])
def test_outputs_that_are_not_the_stacks_are_one_line_naming_what_is_missing(tmp_path: Path, given: object) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(given))
    run = product(str(outputs), str(ROOT / "layers/sleepwake/sleepwake/assets/warmup.wav"))
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith(f"product.py: {outputs}: stack outputs ") and run.stderr.count("\n") == 1, run.stderr
    assert "Outputs" in run.stderr and "Traceback" not in run.stderr
