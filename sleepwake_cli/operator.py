"""Operator commands: status, wake, sleep, warmup, fire-schedule. The same code drives AWS and the local stack
(boto3 endpoints come from AWS_ENDPOINT_URL; the deployment from --stack-name or --deployment-file)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from sleepwake import service
from sleepwake.core import State
from sleepwake.settings import Settings
from sleepwake_cli.deployment import LOCAL_DEPLOYMENT, Deployment, DeploymentError

TERMINAL = {State.READY, State.ASLEEP, State.FAILED}
WHERE_HINT = (
    "For AWS: set AWS_REGION and credentials (AWS_PROFILE, or `aws configure`) and pass --stack-name if the "
    "stack is not called sleepwake. For the local stack: run `make local` and export the AWS_* variables it "
    "prints."
)


def _deployment(args: argparse.Namespace) -> Deployment:
    if args.deployment_file:
        return Deployment.from_file(Path(args.deployment_file))
    if args.stack_name:
        return Deployment.from_stack(args.stack_name)
    if os.environ.get("AWS_ENDPOINT_URL") and LOCAL_DEPLOYMENT.exists():
        return Deployment.from_file(LOCAL_DEPLOYMENT)
    return Deployment.from_stack("sleepwake")


def _plane(args: argparse.Namespace) -> tuple[service.ControlPlane, Deployment]:
    deployment = _deployment(args)
    settings = Settings.model_validate(deployment.environment())
    return service.ControlPlane(settings, service.Adapters.from_environment(settings)), deployment


def _print(args: argparse.Namespace, data: dict[str, Any], line: str) -> None:
    print(json.dumps(data, default=str) if args.json else line)


def _status_line(status: service.Status) -> str:
    line = f"{status.state.value}: {status.current_copies}/{status.desired_copies} copies"
    if status.since:
        line += f", since {status.since:%Y-%m-%d %H:%M:%S %Z}"
    if status.state not in TERMINAL:
        line += f", ready in ~{status.eta_seconds}s"
    if status.lease_until:
        line += f", kept awake until {status.lease_until:%H:%M:%S %Z}"
    if status.last_error:
        line += f"\n  last error: {status.last_error}"
    for warning in status.warnings:
        line += f"\n  warning: {warning}"
    if status.fallback:
        fb = status.fallback
        count = "?" if fb.invocations is None else f"{fb.invocations:g}"
        line += f"\n  fallback: {fb.endpoint}, {count} request(s) in the last {fb.window_minutes} min"
    return line


def _wait(plane: service.ControlPlane, want: set[State], timeout: float) -> service.Status:
    deadline = time.monotonic() + timeout
    while True:
        status = plane.status()
        if status.state in want or status.state == State.FAILED or time.monotonic() > deadline:
            return status
        time.sleep(1)


def cmd_status(args: argparse.Namespace) -> int:
    plane, _ = _plane(args)
    status = plane.status()
    fallback = status.fallback.as_json() if status.fallback else None
    _print(args, status.__dict__ | {"state": status.state.value, "fallback": fallback}, _status_line(status))
    return 0


def cmd_wake(args: argparse.Namespace) -> int:
    plane, _ = _plane(args)
    outcome = plane.request_wake(reason=args.reason, source="cli", keep_awake_minutes=args.keep_awake)
    _print(
        args,
        {
            "state": outcome.state.value,
            "eta_seconds": outcome.eta_seconds,
            "execution": outcome.execution,
            "started": outcome.started,
            "reason": outcome.reason,
        },
        f"{'started' if outcome.started else 'joined' if outcome.execution else 'no wake needed'}: "
        f"{outcome.reason} (state {outcome.state.value}, eta {outcome.eta_seconds}s)",
    )
    if args.wait and outcome.state != State.READY:
        status = _wait(plane, {State.READY}, args.timeout)
        print(_status_line(status))
        return 0 if status.state == State.READY else 1
    return 0


def _start(deployment: Deployment, machine: str, payload: dict[str, Any], prefix: str) -> str:
    arn = deployment.physical(machine)
    name = f"{prefix}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    return str(
        boto3.client("stepfunctions").start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))[
            "executionArn"
        ]
    )


def cmd_sleep(args: argparse.Namespace) -> int:
    plane, deployment = _plane(args)
    execution = _start(deployment, "SleepStateMachine", {"trigger": "manual", "force": args.force}, "manual-sleep")
    _print(args, {"execution": execution}, f"sleep started: {execution}")
    if args.wait:
        sfn = boto3.client("stepfunctions")
        deadline = time.monotonic() + args.timeout
        while (result := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            if time.monotonic() > deadline:
                break
            time.sleep(1)
        decision = json.loads(result.get("output") or "{}").get("decision", {})
        print(f"sleep {result['status'].lower()}" + (f": {decision.get('reason')}" if decision else ""))
        print(_status_line(plane.status()))
        return 0 if result["status"] == "SUCCEEDED" else 1
    return 0


def cmd_warmup(args: argparse.Namespace) -> int:
    plane, _ = _plane(args)
    try:
        result = plane.warm_up(invocations=args.invocations)
    except service.NotServing as error:
        print(f"cannot warm up: {error}", file=sys.stderr)
        return 1
    _print(args, result.__dict__, f"warm={result.warm}: {result.reason}; latencies ms {result.latencies_ms}")
    return 0


def cmd_fire_schedule(args: argparse.Namespace) -> int:
    """Run a schedule's target now with the schedule's own input (EventBridge Scheduler has no 'run now')."""
    _, deployment = _plane(args)
    schedules = {k.lower(): v for k, v in deployment.schedules().items()}
    aliases = {"sleep": "nightlysleep", "wake": "morningwake", "idle": "idlecheck"}
    key = aliases.get(args.schedule.lower(), args.schedule.lower())
    if key not in schedules:
        print(f"unknown schedule {args.schedule!r}; choose from {', '.join(sorted(aliases))}", file=sys.stderr)
        return 2
    schedule = boto3.client("scheduler").get_schedule(Name=schedules[key])
    target, payload = schedule["Target"]["Arn"], schedule["Target"].get("Input", "{}")
    if ":states:" in target:
        execution = boto3.client("stepfunctions").start_execution(
            stateMachineArn=target,
            name=f"fired-{key}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}",
            input=payload,
        )["executionArn"]
        _print(args, {"schedule": schedule["Name"], "execution": execution}, f"fired {schedule['Name']}: {execution}")
    else:
        answer = boto3.client("lambda").invoke(FunctionName=target, Payload=payload.encode())
        body = answer["Payload"].read().decode()
        _print(
            args,
            {"schedule": schedule["Name"], "result": json.loads(body or "null")},
            f"fired {schedule['Name']}: {body}",
        )
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--stack-name",
        help="CloudFormation stack to read (default: sleepwake, or the local "
        "stack's build/local/deployment.json when AWS_ENDPOINT_URL is set)",
    )
    where.add_argument("--deployment-file", help="JSON written by the local stack")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a sentence")


def _bounded(kind: type[int] | type[float], low: float, high: float) -> Any:
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


def _guard(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except DeploymentError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except (NoRegionError, NoCredentialsError) as error:
            print(f"error: {error} {WHERE_HINT}", file=sys.stderr)
            return 2
        except (BotoCoreError, ClientError) as error:
            print(f"error: AWS said: {error}", file=sys.stderr)
            return 2

    return run


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("status", help="state, copies, ETA and last error of the inference component")
    _common(p)
    p.set_defaults(func=_guard(cmd_status))

    p = subparsers.add_parser("wake", help="start (or join) a wake: scale up, wait for the copy, warm it up")
    _common(p)
    p.add_argument("--reason", default="operator wake", help="recorded with the wake")
    p.add_argument(
        "--keep-awake",
        type=_bounded(int, 1, 720),
        metavar="MINUTES",
        help="block idle/scheduled sleep for this long (1-720, as the wake API)",
    )
    p.add_argument("--wait", action="store_true", help="wait until ready (or failed)")
    p.add_argument(
        "--timeout", type=_bounded(float, 1, 86_400), default=1200, help="seconds to wait with --wait (default 1200)"
    )
    p.set_defaults(func=_guard(cmd_wake))

    p = subparsers.add_parser("sleep", help="run the sleep state machine now (skips if busy, leased or not idle)")
    _common(p)
    p.add_argument("--force", action="store_true", help="sleep even if it served requests or holds a lease")
    p.add_argument("--wait", action="store_true", help="wait for the sleep execution to finish")
    p.add_argument(
        "--timeout", type=_bounded(float, 1, 86_400), default=1200, help="seconds to wait with --wait (default 1200)"
    )
    p.set_defaults(func=_guard(cmd_sleep))

    p = subparsers.add_parser("warmup", help="send warm-up requests to the serving copy and print latencies")
    _common(p)
    p.add_argument(
        "-n",
        "--invocations",
        type=_bounded(int, 1, 50),
        default=None,
        help="minimum requests, 1-50 (default: template's)",
    )
    p.set_defaults(func=_guard(cmd_warmup))

    p = subparsers.add_parser("fire-schedule", help="run a schedule's target now with its input (sleep|wake|idle)")
    _common(p)
    p.add_argument("schedule", help="sleep, wake or idle (or the template's event name, e.g. NightlySleep)")
    p.set_defaults(func=_guard(cmd_fire_schedule))
