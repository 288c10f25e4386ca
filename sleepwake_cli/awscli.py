"""The AWS CLI in the lines the project prints: the one `make setup` installs, pinned, in `.tools/aws` (a venv of
its own: awscli pins botocore exactly, as the SAM CLI and checkov do theirs), else one on PATH. Without either a
line that would call `aws` is printed as what works without it (boto3 from .venv, or `sleepwake status`)."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS_AWS = ROOT / ".tools" / "aws" / "bin" / "aws"


def shown(path: Path) -> str:
    """A path as the user can paste it from the directory they are in (symlinks kept as the user sees them)."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def aws_command() -> str | None:
    """How to call the AWS CLI from here, or None when there is none."""
    if TOOLS_AWS.exists():
        return shlex.quote(shown(TOOLS_AWS))
    return "aws" if shutil.which("aws") else None


def boto3_line(python: str, service: str, operation: str, endpoint_url: str | None = None, **params: str) -> str:
    """A shell line that makes one AWS call with boto3 and prints the answer as JSON (the AWS CLI's output)."""
    args = ", ".join(f"{k}={v!r}" for k, v in params.items())
    endpoint = f", endpoint_url={endpoint_url!r}" if endpoint_url else ""
    code = (
        f"import boto3, json; print(json.dumps(boto3.client({service!r}{endpoint}).{operation}({args}), "
        "indent=2, default=str))"
    )
    return f"{python} -c {shlex.quote(code)}"
