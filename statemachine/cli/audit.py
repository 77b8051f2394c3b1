"""`statemachine audit`: stored status histories judged event by event, summed up.

Exit codes: 0 when no event is `illegal` or `unknown`, 1 when some is, 2 when the data or
the arguments cannot be used (a missing file or column, a bad duration or time).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from statemachine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    definition_option,
    named_definition,
)

__all__ = ["register"]


def register(sub: Any) -> None:
    audit = sub.add_parser(
        "audit",
        help="judge stored status histories (CSV, Parquet, JSON Lines) event by event",
        description=(
            "Judge every stored event as the runtime's replay would (events of an entity "
            "ordered by --seq, then --at, then input order) and sum up verdicts, final "
            "statuses, outcomes and stuck entities. Exit 0: no illegal or unknown event; "
            "1: some; 2: unusable data or arguments."
        ),
    )
    audit.add_argument("name", metavar="NAME", help="the machine, e.g. dialnexa.call")
    audit.add_argument(
        "data",
        nargs="+",
        metavar="DATA",
        help="CSV, Parquet or JSON Lines files or globs; - is CSV on stdin",
    )
    definition_option(audit, "--path")
    audit.add_argument("--engine", choices=["duckdb", "spark", "python"], default="duckdb")
    for role, default in (
        ("id", "id"),
        ("status", "status"),
        ("at", "at"),
        ("seq", "seq"),
        ("event-id", "event_id"),
    ):
        audit.add_argument(
            f"--{role}",
            dest=f"column_{role.replace('-', '_')}",
            metavar="COL",
            help=f"the column holding the {role.replace('-', ' ')} (default: {default})",
        )
    audit.add_argument(
        "--as-of", metavar="TIME", help="judge stuck entities at TIME (default: the latest event)"
    )
    audit.add_argument(
        "--stale-after",
        action="append",
        default=[],
        metavar="STATE=DURATION",
        help="a state is stuck after DURATION (15m, 2h, 1d); repeatable",
    )
    audit.add_argument("--format", choices=["text", "json", "html"], default="text")
    audit.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE")
    audit.add_argument(
        "--findings",
        metavar="FILE",
        help="write one row per event not applied and per stuck entity (.csv or .parquet)",
    )
    audit.set_defaults(run=run)


def _options(args: argparse.Namespace, states: Any) -> Any:
    from datetime import datetime

    from statemachine.audit import Columns, Options
    from statemachine.io.loader import parse_duration

    explicit = {
        role: value
        for role in ("id", "status", "at", "seq", "event_id")
        if (value := getattr(args, f"column_{role}")) is not None
    }
    limits = {}
    for item in args.stale_after:
        state, sep, text = item.partition("=")
        if not sep or state not in states:
            known = ", ".join(states)
            raise UsageError(
                f"--stale-after {item}: expected STATE=DURATION with STATE one of {known}"
            )
        try:
            limits[state] = parse_duration(text)
        except ValueError:
            raise UsageError(
                f"--stale-after {item}: {text!r} is not a duration; write e.g. 90s, 15m, 2h, 1d12h"
            ) from None
    as_of = None
    if args.as_of is not None:
        try:
            as_of = datetime.fromisoformat(args.as_of)
        except ValueError:
            raise UsageError(
                f"--as-of {args.as_of}: not a time; write e.g. 2025-03-01T12:00:00"
            ) from None
        if as_of.tzinfo is not None:
            from datetime import UTC

            as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    return Options(Columns(**explicit, explicit=frozenset(explicit)), as_of, limits)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from statemachine.audit import InputError, Outputs, audit, render_html

    definition = named_definition(args.name, args.sources)
    options = _options(args, definition.states)
    if args.format == "html" and args.output is None:
        raise UsageError("--format html needs -o FILE (one self-contained page)")
    outputs = Outputs(findings=Path(args.findings) if args.findings else None)
    try:
        report = audit(definition, args.data, options, engine=args.engine, outputs=outputs)
    except InputError as err:
        raise UsageError(str(err)) from None
    if args.format == "json":
        text = json.dumps(report.as_json(), indent=2)
    elif args.format == "html":
        text = render_html(definition, report)
    else:
        text = report.text()
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return EXIT_FAILED if report.failed else EXIT_OK
