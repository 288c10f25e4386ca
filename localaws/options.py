"""Command-line options shared by `make local` and `python -m localaws`, importable without moto (so the
port checks in `make local` stay instant)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, cast

from sleepwake.core import defaults

if TYPE_CHECKING:
    from localaws.emulator import Timings


def seconds(text: str) -> float:
    """An argparse type: emulated seconds, 0 or more (a one-line error otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"seconds must be 0 or more, got {text}")
    return value


def add_instance_options(parser: argparse.ArgumentParser) -> None:
    """The two-phase provisioning and serverless fallback settings as command-line options (`make local`,
    `python -m localaws`)."""
    parser.add_argument(
        "--provisioning-seconds",
        type=seconds,
        help="emulated time from 0 copies to a serving one, a new instance included (default 210: the team's "
        "inf1 observation, 3-4 min)",
    )
    parser.add_argument(
        "--copy-seconds",
        type=seconds,
        help="a copy on an instance the endpoint still has, emulated seconds (default: 57%% of --provisioning-seconds, "
        "the share AWS's scale-to-zero blog measured)",
    )
    parser.add_argument(
        "--release-seconds",
        type=seconds,
        help="instances go this long after every copy on the endpoint reached 0 (default "
        f"{defaults.INSTANCE_RELEASE_MINUTES * 60:g}, AWS's ~{defaults.INSTANCE_RELEASE_MINUTES:g} min)",
    )
    parser.add_argument(
        "--fallback-cold-start",
        type=seconds,
        help="a cold serverless (fallback) endpoint's start before its first answer, emulated seconds (default 15: "
        'AWS says "in the order of seconds"; the simulator uses 10-20)',
    )
    parser.add_argument(
        "--fallback-idle-evict",
        type=seconds,
        help="an idle serverless endpoint goes cold after this long (default "
        f"{defaults.FALLBACK_IDLE_EVICT_MINUTES * 60:g}; unpublished, an assumption)",
    )


def timings(args: argparse.Namespace) -> Timings:
    """The options `add_instance_options` added that were given, as the Emulator's timings (its defaults apply to
    the others: each default is written once, there)."""
    given = {
        "provisioning_seconds": args.provisioning_seconds,
        "copy_seconds": args.copy_seconds,
        "release_seconds": args.release_seconds,
        "fallback_cold_start_seconds": args.fallback_cold_start,
        "fallback_idle_evict_seconds": args.fallback_idle_evict,
    }
    return cast("Timings", {name: value for name, value in given.items() if value is not None})
