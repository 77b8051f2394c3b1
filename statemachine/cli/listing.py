"""`statemachine list`: the machines found, one a line, dotted name first; the errors of
those that cannot be loaded on stderr (exit 1)."""

from __future__ import annotations

import argparse
from typing import Any

from statemachine.cli.common import EXIT_FAILED, EXIT_OK, registry

__all__ = ["register"]


def register(sub: Any) -> None:
    lst = sub.add_parser("list", help="list machines, one a line, dotted name first")
    lst.add_argument("paths", nargs="*", metavar="PATH")
    lst.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from statemachine.checks.finding import Severity
    from statemachine.cli.output import printable

    found = registry(args.paths)
    # a definition with errors is not listed: say why, rather than leave it out silently
    errors = [f for f in found.findings if f.severity is Severity.ERROR]
    for finding in errors:
        print(printable(str(finding)), file=sys.stderr)
    for name in sorted(found.machines):
        d = found.machines[name]
        subject = f"{d.object}.{d.field}" if d.object else d.field
        fields = (name, d.title or "-", subject, f"{len(d.states)} states", d.file)
        print("\t".join(map(printable, fields)))
    return EXIT_FAILED if errors else EXIT_OK
