"""The `statemachine` command: one module per subcommand, each registering its own parser.

A command module imports only `argparse` and this package at the top; what it runs with is
imported inside its `run`, so a command pays only for what it uses.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from statemachine.cli.common import EXIT_OK, EXIT_USAGE, UsageError

__all__ = ["main"]

#: the subcommands, in the order `--help` lists them: module `statemachine.cli.<name>`
COMMANDS = ("check", "listing", "show", "validate", "replay", "paths", "render", "audit", "sql")


class _Version(argparse.Action):
    """`--version`: the installed package's version, looked up only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import version

        print(f"statemachine {version('statemachine')}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="statemachine",
        description="Explicit status lifecycles for voice-AI and telephony platforms.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"statemachine.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except UsageError as err:
        print(f"statemachine: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `statemachine list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return code
