"""`make local`: the whole control plane in the foreground until Ctrl-C (SIGINT) or SIGTERM.

Emulator on http://127.0.0.1:5000, wake API on http://127.0.0.1:3000, the real stack deployed (create mode,
real model handler) and warm. Emulated time starts now; the deploy runs at x60 (the copy's provisioning takes
seconds), then time runs at --speed (default 1: real time, so a wake takes the configured 210 s; use --speed
20 to watch one in ~11 s). It prints lines to paste, then one line per thing that happens (state changes,
wakes, sleeps, copies, schedule firings, alarms, failures with their reason), stamped in emulated time. The
functions', the model's and the emulator's own logs go to --log.

Exit status: 0 stopped by Ctrl-C/SIGTERM once up; 2 a bad option (out-of-range port, the same port twice);
1 a port that cannot be used or a deploy that failed; 128+signal when interrupted while starting. Ports are
checked before anything slow; a second Ctrl-C stops at once.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, NoReturn

from localaws.options import add_instance_options, timings
from localaws.ports import describe, port_number, why_unusable

if TYPE_CHECKING:
    from localaws.local_stack import LocalStack

REPO_ROOT = Path(__file__).resolve().parent.parent
DEPLOY_SPEED = 60.0  # emulated seconds per wall second while deploying
HOST = "127.0.0.1"
STOP_GRACE_SECONDS = 20.0  # after a stop signal, exit even if something hangs
REGION = "us-east-1"


def _history_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 1 <= days <= 28:
        raise argparse.ArgumentTypeError(f"{days} is outside 1-28 (the planner reads at most 28 days)")
    return days


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwinds whatever the main thread is doing (deploy, model load, waiting)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _port(text: str) -> int:
    try:
        return port_number(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="make local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=_port, default=5000, help="emulator port (default 5000; LOCAL_PORT=)")
    parser.add_argument("--api-port", type=_port, default=3000, help="wake API port (default 3000; API_PORT=)")
    parser.add_argument("--speed", type=float, default=1.0, help="emulated seconds per wall second (default 1)")
    parser.add_argument("--start", help="emulated start, ISO 8601 with offset (default: now)")
    add_instance_options(parser)
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="template parameter override (repeatable), e.g. IdleMinutes=10",
    )
    parser.add_argument(
        "--stand-in-model",
        action="store_true",
        help="copies and the fallback answer every request at once with one small JSON document instead of "
        "loading the real model handler (torch): the stack is up in seconds, for trying the control plane, "
        "not the model (localaws/stand_in.py)",
    )
    parser.add_argument("--log", default=str(REPO_ROOT / "build" / "local" / "lambda.log"), help="where logs go")
    parser.add_argument(
        "--deployment-file",
        default=str(REPO_ROOT / "build" / "local" / "deployment.json"),
        help="where the operator CLI finds this stack (default build/local/deployment.json)",
    )
    parser.add_argument(
        "--seed-history",
        type=_history_days,
        default=0,
        metavar="DAYS",
        help="write DAYS (1-28) of past office-hours requests (weekdays 09:00-17:00 ET) into CloudWatch, so "
        "`sleepwake plan` and the plan job have a history to learn from (default 0: none)",
    )
    args = parser.parse_args(argv)
    if args.port and args.port == args.api_port:
        parser.error(f"--port and --api-port are both {args.port}: the emulator and the wake API need a port each")
    if not args.speed > 0:
        parser.error(f"--speed must be > 0, not {args.speed:g}")
    if any("=" not in p for p in args.parameter):
        parser.error("--parameter takes KEY=VALUE")
    if args.start:
        try:
            start = datetime.fromisoformat(args.start)
        except ValueError:
            parser.error(f"--start {args.start!r} is not an ISO 8601 time")
        if start.tzinfo is None:
            parser.error(f"--start {args.start!r} needs a UTC offset, e.g. {args.start}Z or {args.start}+00:00")
    return args


def _shown(path: Path) -> str:
    """A path as the user can paste it from the directory they are in."""
    from sleepwake_cli.awscli import shown

    return shown(path)


def aws_lines(local: LocalStack, aws_env: str) -> list[str]:
    """Two reads through the AWS CLI (the pinned one in .tools/aws, or one on PATH); without one, the same reads
    with boto3 from this Python."""
    from sleepwake_cli.awscli import aws_command, boto3_line

    emu, out = local.emu.endpoint_url, local.outputs
    aws = aws_command()
    if aws:
        return [
            f"{aws_env} {aws} --endpoint-url {emu} sagemaker describe-inference-component "
            f"--inference-component-name {out['InferenceComponentName']}",
            f"{aws_env} {aws} --endpoint-url {emu} stepfunctions list-executions "
            f"--state-machine-arn {out['WakeStateMachineArn']}",
        ]
    python = shlex.quote(_shown(Path(sys.executable)))
    return [
        f"{aws_env} "
        + boto3_line(
            python,
            "sagemaker",
            "describe_inference_component",
            emu,
            InferenceComponentName=out["InferenceComponentName"],
        ),
        f"{aws_env} "
        + boto3_line(python, "stepfunctions", "list_executions", emu, stateMachineArn=out["WakeStateMachineArn"]),
    ]


def credentials(local: LocalStack) -> str:
    """The stack's operator identity as environment assignments (IAM is enforced: localaws/iam.py)."""
    keys = local.operator_keys
    assert keys is not None, "the local stack creates its operator when it starts"
    return f"AWS_ACCESS_KEY_ID={keys.access_key_id} AWS_SECRET_ACCESS_KEY={keys.secret_access_key}"


def try_lines(local: LocalStack, deployment_file: Path) -> list[str]:
    """Commands that work pasted on their own: region, credentials and endpoint included."""
    emu, api = local.emu.endpoint_url, local.api_url
    keys = local.operator_keys
    assert keys is not None
    aws_env = f"AWS_DEFAULT_REGION={REGION} {credentials(local)}"
    cli_env = f"AWS_ENDPOINT_URL={emu} {aws_env}"
    scripts = [REPO_ROOT / ".venv" / "bin" / "sleepwake", Path(sys.executable).parent / "sleepwake"]
    script = next((s for s in scripts if s.exists()), None)
    sleepwake = shlex.quote(_shown(script)) if script else f"{shlex.quote(sys.executable)} -m sleepwake_cli"
    where = f"--deployment-file {shlex.quote(_shown(deployment_file))}"
    sign = f"--aws-sigv4 aws:amz:{REGION}:execute-api --user {keys.access_key_id}:{keys.secret_access_key}"
    return [
        f'curl -s {sign} -X POST {api}/wake -H "Content-Type: application/json" '
        f'-d \'{{"reason": "trying it", "keep_awake_minutes": 20}}\'',
        f"curl -s {sign} {api}/status",
        *aws_lines(local, aws_env),
        f"{cli_env} {sleepwake} status {where}",
        f"{cli_env} {sleepwake} sleep --force --wait {where}",
        f"{cli_env} {sleepwake} wake --wait {where}",
        f"{cli_env} {sleepwake} fire-schedule idle {where}",
    ]


def product_line(deployment_file: Path) -> str:
    """A product's request as the product identity (docs/fallback.md, "Against `make local`")."""
    python = REPO_ROOT / ".venv" / "bin" / "python"
    runner = shlex.quote(_shown(python if python.exists() else Path(sys.executable)))
    script, sample = REPO_ROOT / "docs" / "examples" / "product.py", REPO_ROOT / "layers/sleepwake/sleepwake/assets"
    return f"{runner} {_shown(script)} {shlex.quote(_shown(deployment_file))} {_shown(sample / 'warmup.wav')}"


def banner(local: LocalStack, args: argparse.Namespace) -> str:
    from localaws.activity import stamp

    lines = [
        "",
        f"sleepwake local stack is up: emulated time {stamp(local.now())}, running x{args.speed:g}",
        f"  emulator  {local.emu.endpoint_url}  (any AWS SDK or CLI: region {REGION}, the operator's keys below)",
        f"  wake API  {local.api_url}  (IAM auth as on AWS: SigV4 for execute-api, signed by the operator)",
        f"  logs      {_shown(Path(args.log))}  (functions, model, emulator; wall-clock timestamps)",
        "",
        "try (each line works pasted on its own, from this directory; fire-schedule also takes sleep and wake):",
        *(f"  {line}" for line in try_lines(local, Path(args.deployment_file))),
        "a product's request (as the product identity; the fallback answers while the component sleeps):",
        f"  {product_line(Path(args.deployment_file))}",
        "or export once for the AWS CLI, boto3 and sleepwake:",
        f"  export AWS_ENDPOINT_URL={local.emu.endpoint_url} AWS_DEFAULT_REGION={REGION} {credentials(local)}",
        "Ctrl-C stops everything.",
        "",
        "what happens (emulated time):",
    ]
    return "\n".join(lines)


@contextlib.contextmanager
def logs_to(path: Path) -> Iterator[tuple[IO[str], IO[str]]]:
    """Send everything written to file descriptors 1 and 2 (functions' JSON logs, the model's, moto's, stray
    tracebacks from threads) to `path`; yield the terminal's stdout and stderr for our own lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    out = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    err = os.fdopen(os.dup(saved[1]), "w", buffering=1)
    with open(path, "a", buffering=1) as log:
        print(
            f"=== make local {datetime.now(UTC).isoformat(timespec='seconds')} (wall clock; lines below carry "
            "wall-clock or emulated timestamps as each writer does) ===",
            file=log,
        )
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield out, err
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():  # a second Ctrl-C: the user wants out now
            os._exit(128 + signum)
        stopping.set()
        watchdog = threading.Timer(STOP_GRACE_SECONDS, os._exit, args=(128 + signum,))
        watchdog.daemon = True
        watchdog.start()
        raise Interrupted(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        return _run(args)
    except Interrupted as stop:
        print(f"make local: interrupted ({stop}) while starting; stopped.", file=sys.stderr, flush=True)
        return 128 + stop.signum


def _run(args: argparse.Namespace) -> int:
    for option, port in (("--port (LOCAL_PORT)", args.port), ("--api-port (API_PORT)", args.api_port)):
        problem = why_unusable(HOST, port)
        if problem:
            print(f"make local: {problem}; choose another with {option}", file=sys.stderr, flush=True)
            return 1
    overrides = dict(p.split("=", 1) for p in args.parameter)
    start = datetime.fromisoformat(args.start) if args.start else datetime.now(UTC)
    print(
        f"starting the local stack: deploying template.yaml and loading the "
        f"{'stand-in model' if args.stand_in_model else 'model'}, emulated time at "
        f"x{DEPLOY_SPEED:g} until the copy is up and warm, then x{args.speed:g} (logs: {_shown(Path(args.log))})...",
        flush=True,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    with logs_to(Path(args.log)) as (out, err):
        from localaws.local_stack import LocalStack  # seconds of imports (moto): after the port checks
        from localaws.stand_in import StandInModel

        model = StandInModel if args.stand_in_model else None  # None: the real model handler
        local = LocalStack(
            start=start,
            speed=max(args.speed, DEPLOY_SPEED),  # the deploy's provisioning in seconds, not minutes
            port=args.port,
            api_port=args.api_port,
            parameters=overrides,
            deployment_file=Path(args.deployment_file),
            model_server_factory=model,
            fallback_server_factory=model,
            **timings(args),
        )
        try:
            local.start()
        except OSError as error:  # a port taken between the check and the bind
            busy = [p for p in (args.port, args.api_port) if why_unusable(HOST, p)]
            print(f"make local: {describe(error, busy[0] if busy else args.port)}", file=err, flush=True)
            return 1
        except Exception as error:  # the deploy failed: say why in one line; the log has the rest
            logging.getLogger("localaws.make_local").exception("the local stack did not start")
            print(f"make local: the stack did not start: {type(error).__name__}: {error}", file=err, flush=True)
            return 1
        if args.seed_history:
            from localaws.demo_planner import office_hours, seed_history

            seeded = seed_history(local, office_hours(args.seed_history, local.now()))
            print(f"seeded {seeded} past requests ({args.seed_history} days of office hours)", file=out, flush=True)
        try:
            local.clock.set_speed(args.speed)
            return _serve(local, args, out)
        except Interrupted:
            return 0
        finally:
            print("stopping...", file=out, flush=True)
            local.stop()
            print("stopped.", file=out, flush=True)


def _serve(local: LocalStack, args: argparse.Namespace, out: IO[str]) -> int:
    from localaws.activity import Activity

    print(banner(local, args), file=out, flush=True)
    activity = Activity(local, lambda line: print(line, file=out, flush=True))
    activity.say(local.now(), "deploy", f"post-deploy warm-up: {local.outputs['PostDeployWarmup']}")
    activity.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        activity.stop()


if __name__ == "__main__":
    raise SystemExit(main())
