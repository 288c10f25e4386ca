"""`make local`: the whole control plane in the foreground until Ctrl-C.

Emulator on http://127.0.0.1:5000, wake API on http://127.0.0.1:3000, the real stack deployed (create mode,
real model handler) and warm. Emulated time starts now; the deploy runs at x60 (the copy's provisioning takes
seconds), then time runs at --speed (default 1: real time, so a wake takes the configured 210 s; use --speed
20 to watch one in ~11 s).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from localaws.emulator import add_instance_options
from localaws.local import LocalStack
from localaws.stack import REPO_ROOT

DEPLOY_SPEED = 60.0  # emulated seconds per wall second while deploying

USAGE = """
sleepwake local stack is up (emulated time {now}, x{speed:g})
  emulator   {emu}      export AWS_ENDPOINT_URL={emu} AWS_DEFAULT_REGION=us-east-1 \\
                        AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  wake API   {api}
  Lambda logs: {log}

try:
  curl -s -X POST {api}/wake -d '{{"reason": "trying it", "keep_awake_minutes": 20}}'
  curl -s {api}/status
  aws --endpoint-url {emu} sagemaker describe-inference-component --inference-component-name {ic}
  aws --endpoint-url {emu} stepfunctions list-executions --state-machine-arn {wake_arn}
  .venv/bin/sleepwake status            # the operator CLI finds this stack (build/local/deployment.json)
  .venv/bin/sleepwake sleep --force --wait
  .venv/bin/sleepwake wake --wait
  .venv/bin/sleepwake fire-schedule sleep|wake|idle
Ctrl-C stops everything.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=5000, help="emulator port (default 5000)")
    parser.add_argument("--api-port", type=int, default=3000, help="wake API port (default 3000)")
    parser.add_argument("--speed", type=float, default=1.0, help="emulated seconds per wall second (default 1)")
    parser.add_argument("--start", help="emulated start, ISO 8601 with offset (default: now)")
    parser.add_argument(
        "--provisioning-seconds", type=float, default=210.0, help="emulated time from 0 to a serving copy (default 210)"
    )
    add_instance_options(parser)
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="template parameter override (repeatable), e.g. IdleMinutes=10",
    )
    parser.add_argument("--log", default=str(REPO_ROOT / "build" / "local" / "lambda.log"))
    args = parser.parse_args(argv)

    try:
        overrides = dict(p.split("=", 1) for p in args.parameter)
    except ValueError:
        parser.error("--parameter takes KEY=VALUE")
    start = datetime.fromisoformat(args.start) if args.start else datetime.now(UTC)
    Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    out = sys.stdout
    print(
        f"starting the local stack: deploying template.yaml and loading the model, emulated time at x{DEPLOY_SPEED:g} "
        f"until the copy is up and warm, then x{args.speed:g}...",
        flush=True,
    )
    with open(args.log, "a") as log, contextlib.redirect_stdout(log):
        local = LocalStack(
            start=start,
            speed=max(args.speed, DEPLOY_SPEED),  # the deploy's provisioning in seconds, not minutes
            port=args.port,
            api_port=args.api_port,
            provisioning_seconds=args.provisioning_seconds,
            copy_seconds=args.copy_seconds,
            release_seconds=args.release_seconds,
            fallback_cold_start_seconds=args.fallback_cold_start,
            fallback_idle_evict_seconds=args.fallback_idle_evict,
            parameters=overrides,
        )
        try:
            local.start()
        except OSError as error:
            print(f"cannot start: {error} (is another `make local` running? use --port/--api-port)", file=out)
            return 1
        local.clock.set_speed(args.speed)
        try:
            print(
                USAGE.format(
                    now=local.now().isoformat(timespec="seconds"),
                    speed=args.speed,
                    emu=local.emu.endpoint_url,
                    api=local.api_url,
                    log=args.log,
                    ic=local.outputs["InferenceComponentName"],
                    wake_arn=local.outputs["WakeStateMachineArn"],
                ),
                file=out,
                flush=True,
            )
            print(f"post-deploy warm-up: {local.outputs['PostDeployWarmup']}", file=out, flush=True)
            while not stop.wait(1):
                pass
        finally:
            print("stopping...", file=out, flush=True)
            local.stop()
    print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
