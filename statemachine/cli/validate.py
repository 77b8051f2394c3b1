"""`statemachine validate`: one entity's status history, step by step."""

from __future__ import annotations

import argparse
from typing import Any

from statemachine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    definition_option,
    named_definition,
    structural,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    validate = sub.add_parser(
        "validate", help="check a sequence of statuses as one entity's history"
    )
    validate.add_argument("name", metavar="NAME")
    validate.add_argument("statuses", nargs="+", metavar="STATUS")
    definition_option(validate, "--path")
    validate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    lc = structural(named_definition(args.name, args.sources), args.statuses)
    steps = lc.steps(args.statuses)
    print(f"0: {args.statuses[0]}  (start)")
    for step in steps:
        if step.error is None and step.move is not None:
            guard = f" if {' and '.join(step.move.conditions)}" if step.move.conditions else ""
            print(f"{step.index}: {step.source} -> {step.dest}  ({step.move.trigger}{guard})")
            continue
        print(f"{step.index}: {step.source} -> {step.dest}  ILLEGAL: {step.error}")
        return EXIT_FAILED
    return EXIT_OK
