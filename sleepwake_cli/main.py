"""Root parser of the `sleepwake` command: each area adds its subcommands through a `register(subparsers)` hook."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from collections.abc import Sequence

# Modules that contribute subcommands. The operator commands (status, wake, sleep, warmup, fire-schedule)
# live in sleepwake_cli.operator, written separately; it is optional here so the simulator ships on its own.
_REQUIRED = ("sleepwake_cli.simulate.cli",)
_OPTIONAL = ("sleepwake_cli.operator",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sleepwake",
        description="Sleep, wake and warm a SageMaker inference component; simulate what a schedule saves.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _REQUIRED:
        importlib.import_module(name).register(subparsers)
    for name in _OPTIONAL:
        # find_spec, not try/except ImportError: a broken operator module must fail loudly, not vanish.
        if importlib.util.find_spec(name) is not None:
            module = importlib.import_module(name)
            module.register(subparsers)
            parser.epilog = getattr(module, "EPILOG", parser.epilog)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse and dispatch; every subcommand sets `func(args) -> int` with `set_defaults`."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))
