"""make demo's "next request warm" phase judges one first request after a wake: it must tell a copy whose warm-up
was skipped from a warmed one in a single sample (localaws/demo.py FIRST_REQUEST_CEILING; make bench-model's last
line measures this host's noise)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localaws.cfn_template import REPO_ROOT
from localaws.demo import FIRST_REQUEST_CEILING, first_to_steady
from localaws.local_stack import SAMPLE

# A new copy is a new process (a container): TorchScript keeps some of what its first calls compile per process, so
# a copy loaded beside a warmed one reads less cold than a real new copy does.
NEW_COPY = """
import json, pathlib, sys
from sagemaker_model.model_server import ModelServer
body = pathlib.Path(sys.argv[2]).read_bytes()
with ModelServer(sys.argv[1]) as server:
    print(json.dumps([server.invoke(body, "audio/wav").cpu_ms for _ in range(11)]))
"""


def _first_then_ten(model_dir: Path, warmup_iterations: str) -> float:
    env = os.environ | {"SLEEPWAKE_WARMUP_ITERATIONS": warmup_iterations, "SLEEPWAKE_TARGET": "cpu"}
    out = subprocess.run(
        [sys.executable, "-c", NEW_COPY, str(model_dir), str(SAMPLE)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,  # python -c puts the working directory first on sys.path: the repository holds sagemaker_model
    )
    return first_to_steady(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_demos_warm_check_fails_a_copy_whose_warm_up_was_skipped_and_passes_a_warmed_one(
    model_dir: Path,
) -> None:
    # GIVEN a new copy loaded without its warm-up WHEN the demo's request is sent once and then ten times
    cold = _first_then_ten(model_dir, "0")
    # THEN the first reads several times steady (TorchScript profiles and optimises on its first calls)
    assert cold > FIRST_REQUEST_CEILING, f"a cold copy read {cold:.2f}x steady"
    # GIVEN a new copy that model_fn warms as it loads THEN the same check passes
    warm = _first_then_ten(model_dir, "1")
    assert warm <= FIRST_REQUEST_CEILING, f"a warmed copy read {warm:.2f}x steady"


def test_a_missing_or_unmeasured_request_never_passes_the_check() -> None:
    assert first_to_steady([18.0]) == float("inf")
    assert first_to_steady([18.0, 0.0, 17.0]) == float("inf")
    assert first_to_steady([20.0, 18.0, 17.0, 19.0]) == pytest.approx(20.0 / 18.0)
