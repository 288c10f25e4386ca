"""One operator command's plumbing: find the deployment, build its control plane on the stack's clock, and
turn every expected failure into one line on stderr and an exit status (EXIT_CODES; plan's and report's
own: PLAN_EXIT_CODES, REPORT_EXIT_CODES). The commands live in
sleepwake_cli/operator.py, plan.py and report.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)

from sleepwake import clock
from sleepwake.control.plane import ControlPlane
from sleepwake.control.ports import Adapters
from sleepwake.observability import logs_on_stderr
from sleepwake.settings import Settings
from sleepwake_cli.deployment import (
    LOCAL_DEPLOYMENT,
    Deployment,
    DeploymentError,
    StackClock,
    profile_variable,
    unreachable_local,
)

OK, FAILED, USAGE, SKIPPED, TIMED_OUT, INTERRUPTED = 0, 1, 2, 3, 4, 130
EXIT_CODES = f"""exit status of status, wake, sleep, warmup and fire-schedule:
  {OK}    done (status read; wake ready or started; sleep done or started; copy warmed)
  {FAILED}    the wake, sleep, warm-up or the schedule's target failed; the reason is printed
  {USAGE}    bad option, no deployment found, no AWS region, credentials or profile, or AWS refused a call
  {SKIPPED}    skipped, nothing done, and the reason is printed: the control plane declined the sleep (requests
       served lately, an awake lease, outside the quiet hours, a wake in flight) or a wake superseded it;
       warmup found no serving copy
  {TIMED_OUT}    --wait timed out; what was started goes on in the background
  {INTERRUPTED}  Ctrl-C; what was started goes on in the background"""
PLAN_EXIT_CODES = f"""exit status of plan:
  {OK}    the week printed (and with --apply, the plan job ran)
  {FAILED}    --apply: the plan job failed; its error is printed
  {USAGE}    bad option (an --out that cannot take plan.png among them), no deployment found, no AWS region,
       credentials or profile, AWS refused a call, or the heatmap could not be written (nothing applied)
  {INTERRUPTED}  Ctrl-C"""
REPORT_EXIT_CODES = f"""exit status of report:
  {OK}    the report printed (and with --png, the chart written)
  {USAGE}    bad option (--since, --price, a --png that is no .png in an existing folder), no deployment
       found, no AWS region, credentials or profile, AWS refused a call, or the chart could not be written
       (the figures are printed first)
  {INTERRUPTED}  Ctrl-C"""
WHERE_HINT = (
    "For AWS: set AWS_DEFAULT_REGION (or AWS_REGION) and credentials (AWS_PROFILE, or `aws configure`) and pass "
    "--stack-name if the stack is not called sleepwake. For the local stack: run `make local` and export the AWS_* "
    "variables it prints."
)


def unknown_profile(name: str) -> str:
    """What to say when the AWS profile `name` from the environment is not in the AWS config: the variable it came
    from (deployment.profile_variable: botocore reads AWS_DEFAULT_PROFILE first) and the profiles that are."""
    import botocore.session

    variable = profile_variable() or "AWS_PROFILE"
    known = ", ".join(sorted(botocore.session.Session().available_profiles)) or "none"
    return (
        f"AWS profile {name!r} ({variable}) not found in the AWS config (known: {known}); set {variable} to one "
        "of them, make it with `aws configure --profile NAME`, or unset it"
    )


class Interrupted(Exception):
    """Ctrl-C after something was started: it goes on without us."""


@dataclass
class Operator:
    """One command's view of the deployment: the control plane, AWS clients and the stack's clock."""

    args: argparse.Namespace
    deployment: Deployment
    plane: ControlPlane
    clock: StackClock

    def answer(self, data: dict[str, Any], text: str) -> None:
        print(json.dumps(data) if self.args.json else text, flush=True)

    def follow_execution(self, arn: str) -> str:
        """A line that shows the execution, pasted as it is: the AWS CLI when there is one (sleepwake_cli.awscli),
        else boto3 from this Python; for the local stack with its region, endpoint and operator's keys."""
        from sleepwake_cli.awscli import aws_command, boto3_line, shown

        local, endpoint = self.deployment.local, self.deployment.endpoint_url
        env = ""
        if local:
            keys = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.deployment.credentials.items())
            env = f"AWS_DEFAULT_REGION={local['region']} {keys} ".replace("  ", " ")
        aws = aws_command()
        if aws:
            where = f" --endpoint-url {endpoint}" if endpoint else ""
            return f"{env}{aws}{where} stepfunctions describe-execution --execution-arn {arn}"
        python = shlex.quote(shown(Path(sys.executable)))
        return env + boto3_line(python, "stepfunctions", "describe_execution", endpoint, executionArn=arn)


def _deployment(args: argparse.Namespace) -> Deployment:
    """The deployment the command acts on; a local stack that is not running is said at once, not after
    botocore's retries."""
    from_file = args.deployment_file or (
        not args.stack_name and os.environ.get("AWS_ENDPOINT_URL") and LOCAL_DEPLOYMENT.exists()
    )
    if from_file:
        deployment = Deployment.from_file(Path(args.deployment_file or LOCAL_DEPLOYMENT))
        problem = unreachable_local(deployment.endpoint_url)
    else:  # before describe-stacks retries a refused connection
        problem = unreachable_local(os.environ.get("AWS_ENDPOINT_URL"))
    if problem:
        raise DeploymentError(problem)
    return deployment if from_file else Deployment.from_stack(args.stack_name or "sleepwake")


def _operator(args: argparse.Namespace) -> Operator:
    deployment = _deployment(args)
    settings = Settings.model_validate(deployment.environment())
    adapters = Adapters.from_clients(settings, deployment.client, deployment.resource("dynamodb"))
    return Operator(args, deployment, ControlPlane(settings, adapters), deployment.clock())


def operator_for(deployment_file: Path) -> Operator:
    """A local stack's operator from its deployment file, for a command's steps run in-process (`make demo`
    ends with `sleepwake report`'s)."""
    args = argparse.Namespace(deployment_file=str(deployment_file), stack_name=None, json=True, verbose=False)
    return _operator(args)


class Refused(Exception):
    """A one-line error that ends the command with exit status 2 (bad input the parser cannot see)."""


def _said(args: argparse.Namespace, outcome: str, message: str, code: int) -> int:
    """An ending without an answer from the command: one line on stderr and, with --json, still one document."""
    print(message, file=sys.stderr)
    if args.json:
        print(json.dumps({"outcome": outcome, "message": message}))
    return code


def guard(func: Callable[[Operator], int]) -> Callable[[argparse.Namespace], int]:
    """Find the deployment, run on the stack's clock, and turn every expected failure into one line on stderr
    and an exit status, never a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            with logs_on_stderr(logging.INFO if args.verbose else logging.WARNING):
                op = _operator(args)
                with clock.using(op.clock.now, op.clock.sleep):
                    return int(func(op))
        except Interrupted as stopped:
            message = f"interrupted: the {stopped} goes on in the background; follow it with `sleepwake status`"
            return _said(args, "interrupted", message, INTERRUPTED)
        except KeyboardInterrupt:
            message = "interrupted: anything already started goes on; `sleepwake status` shows where it is"
            return _said(args, "interrupted", message, INTERRUPTED)
        except (DeploymentError, Refused) as error:
            return _said(args, "error", f"error: {error}", USAGE)
        except (NoRegionError, NoCredentialsError) as error:
            return _said(args, "error", f"error: {str(error).rstrip('.')}. {WHERE_HINT}", USAGE)
        except ProfileNotFound as error:
            return _said(args, "error", f"error: {unknown_profile(str(error.kwargs.get('profile', '')))}", USAGE)
        except EndpointConnectionError as error:  # e.g. `make local` stopped while the command ran
            gone = unreachable_local(str(error.kwargs.get("endpoint_url", "")))
            return _said(args, "error", f"error: {gone or f'AWS said: {error}'}", USAGE)
        except (BotoCoreError, ClientError) as error:
            return _said(args, "error", f"error: AWS said: {error}", USAGE)

    return run


def _common(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--stack-name",
        help="CloudFormation stack to read (default: sleepwake, or the local "
        "stack's build/local/deployment.json when AWS_ENDPOINT_URL is set)",
    )
    where.add_argument(
        "--deployment-file", help="JSON written by the local stack (it says where the stack and its clock are)"
    )
    parser.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each decision (JSON lines on stderr)")


def waiting(parser: argparse.ArgumentParser, what: str, noun: str) -> None:
    parser.add_argument(
        "--wait",
        action="store_true",
        help=f"wait until {what}, showing state, copies, ETA and elapsed time on stderr (a progress bar on a terminal)",
    )
    parser.add_argument(
        "--timeout",
        type=bounded(float, 1, 86_400),
        default=1200,
        metavar="SECONDS",
        help="give up waiting after this long on the stack's clock (emulated seconds on the local stack; "
        f"default 1200); the {noun} goes on (exit {TIMED_OUT})",
    )


def bounded(kind: type[int] | type[float], low: float, high: float) -> Any:
    """An argparse type: a number of `kind` in [low, high], refused with a message naming the range."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low:g}-{high:g}")
        return value

    return parse


def text_of_length(low: int, high: int) -> Any:
    """An argparse type: text of `low` to `high` characters, refused with a message naming the limit."""

    def parse(text: str) -> str:
        if not low <= len(text) <= high:
            raise argparse.ArgumentTypeError(f"{len(text)} characters; it must be {low}-{high}")
        return text

    return parse


def subcommand(
    subparsers: Any, name: str, help: str, description: str, exit_codes: str = EXIT_CODES
) -> argparse.ArgumentParser:
    """An operator command's parser: its description, the options every one takes (_common) and its exit codes
    (EXIT_CODES unless the command has its own)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help,
        description=textwrap.fill(description, 100),
        epilog=exit_codes,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser)
    return parser
