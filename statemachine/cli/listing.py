"""`statemachine list`: the machines found, one a line, dotted name first."""

from __future__ import annotations

import argparse
from typing import Any

from statemachine.cli.common import EXIT_OK, registry

__all__ = ["register"]


def register(sub: Any) -> None:
    lst = sub.add_parser("list", help="list machines, one a line, dotted name first")
    lst.add_argument("paths", nargs="*", metavar="PATH")
    lst.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from statemachine.cli.output import printable

    found = registry(args.paths)
    for name in sorted(found.machines):
        d = found.machines[name]
        subject = f"{d.object}.{d.field}" if d.object else d.field
        fields = (name, d.title or "-", subject, f"{len(d.states)} states", d.file)
        print("\t".join(map(printable, fields)))
    return EXIT_OK
