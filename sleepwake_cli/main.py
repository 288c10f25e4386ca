"""Root parser of the `sleepwake` command: each area adds its subcommands through a `register(subparsers)` hook."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from collections.abc import Sequence
from typing import NoReturn

# Modules that contribute subcommands. The operator commands (status, wake, sleep, warmup, fire-schedule)
# live in sleepwake_cli.operator, written separately; it is optional here so the simulator ships on its own.
_REQUIRED = ("sleepwake_cli.simulate.cli", "sleepwake_cli.preflight")
_OPTIONAL = ("sleepwake_cli.operator", "sleepwake_cli.report")


class SubcommandParser(argparse.ArgumentParser):
    """A subcommand's parser: its own mistakes are reported with its own usage, and a bad value in one line.

    argparse hands a subcommand's unknown options up to the root parser, which then prints the root usage
    (`sleepwake [-h] COMMAND ...`), no help to someone who mistyped an option of `simulate`.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    def error(self, message: str) -> NoReturn:
        # argparse words a bad value of a known option "argument --X: why": that line names the option and says
        # what it must be, and the whole usage of a long subcommand above it would only bury it.
        if message.startswith("argument "):
            self.exit(2, f"{self.prog}: error: {message}\n")
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sleepwake",
        description="Sleep, wake and warm a SageMaker inference component; simulate what a schedule saves.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=SubcommandParser)
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
