"""`python -m localaws`: run the loopback AWS with the real stack deployed, until interrupted.

Prints the endpoint, the emulated time and the stack outputs; point boto3 or the AWS CLI at it with
AWS_ENDPOINT_URL and the administrator keys it prints (IAM is enforced). Differs from AWS as each localaws
module says.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from datetime import UTC, datetime

from localaws import EmulatedClock, Emulator
from localaws import clock as clock_mod
from localaws.options import add_instance_options, timings
from sleepwake.core import iso


class EmulatedTimeFormatter(logging.Formatter):
    """Log lines stamped with the emulated time, written as the API writes times (one clock, one format)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return iso(clock_mod.now(), "milliseconds")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localaws", description=__doc__)
    parser.add_argument("--port", type=int, default=5000, help="loopback port (0 picks a free one)")
    parser.add_argument("--speed", type=float, default=60.0, help="emulated seconds per wall second")
    parser.add_argument("--start", default=None, help="emulated start time, ISO 8601 with offset (default: now)")
    add_instance_options(parser)
    parser.add_argument("--no-stack", action="store_true", help="start the services only, deploy nothing")
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument(
        "--parameter", action="append", default=[], metavar="KEY=VALUE", help="template parameter override"
    )
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(EmulatedTimeFormatter("%(asctime)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("botocore").setLevel(logging.WARNING)

    start = datetime.fromisoformat(args.start) if args.start else datetime.now(UTC)
    emu = Emulator(
        EmulatedClock(start=start, speed=args.speed),
        port=args.port,
        **timings(args),
    ).start()
    try:
        keys = emu.client_keys()  # IAM is enforced: the administrator's keys (see localaws.iam)
        print(
            f"localaws: {emu.endpoint_url}  (export AWS_ENDPOINT_URL={emu.endpoint_url} "
            f"AWS_ACCESS_KEY_ID={keys.access_key_id} AWS_SECRET_ACCESS_KEY={keys.secret_access_key})",
            flush=True,
        )
        print(f"clock: {iso(emu.now())} x{args.speed:g}", flush=True)
        if not args.no_stack:
            from localaws.cfn_stack import Stack

            overrides = dict(p.split("=", 1) for p in args.parameter)
            stack = Stack(emu, args.template, parameters=overrides).deploy()
            print(json.dumps(stack.outputs, indent=2, default=str), flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.wait(60):
            print(f"clock: {iso(emu.now())}", flush=True)
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
