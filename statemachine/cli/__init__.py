"""The `statemachine` command: one module per subcommand, each registering its own parser.

A command module imports only `argparse` and this package at the top; what it runs with is
imported inside its `run`, so a command pays only for what it uses. Only the parser of the
command named is built (all of them for `--help` or a mistyped command).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from statemachine.cli.common import EXIT_OK, EXIT_USAGE, UsageError

__all__ = ["main", "program"]

#: each subcommand and its module `statemachine.cli.<module>`, in the order `--help` lists them
COMMANDS = {
    "check": "check",
    "list": "listing",
    "show": "show",
    "validate": "validate",
    "replay": "replay",
    "paths": "paths",
    "render": "render",
    "audit": "audit",
    "sql": "sql",
}


class _Version(argparse.Action):
    """`--version`: the installed package's version, looked up only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import version

        print(f"statemachine {version('statemachine')}")
        parser.exit()


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="statemachine",
        description="Explicit status lifecycles for voice-AI and telephony platforms.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    named = [argv[0]] if argv and argv[0] in COMMANDS else list(COMMANDS)
    for name in named:
        importlib.import_module(f"statemachine.cli.{COMMANDS[name]}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(argv).parse_args(argv)
    try:
        code: int = args.run(args)
    except UsageError as err:
        print(f"statemachine: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `statemachine list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as err:  # an unreadable file or folder (io.files.UnreadablePath), a full disk
        print(f"statemachine: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    return code


#: the commands whose process exits without a final garbage collection (see `program`): the
#: pure-Python ones; `audit` and `sql` hold DuckDB objects, whose bindings report any not
#: collected at exit as leaked
QUICK_EXIT = frozenset({"check", "list", "show", "validate", "paths"})


def program() -> NoReturn:
    """The `statemachine` process: `main` with the command line, then exit.

    The interpreter's finalization runs full garbage collections over everything the process
    made (modules, classes, definitions), about 8 ms of a 90 ms `check`, to find cycles that
    the process is about to drop anyway. For the `QUICK_EXIT` commands every object is
    frozen first, which leaves it out of those collections: it is freed by reference counting
    as modules are cleared, or with the process. What must happen at exit still does: `main`
    has written its output, the standard streams are flushed and `atexit` hooks run (the
    schema cache is saved by one); only finalizers of objects in reference cycles are
    skipped, which Python never promises at exit."""
    argv = sys.argv[1:]
    code = main(argv)
    if argv and argv[0] in QUICK_EXIT:
        gc.freeze()
    sys.exit(code)
