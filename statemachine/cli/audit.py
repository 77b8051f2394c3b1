"""`statemachine audit`: stored status histories judged event by event, summed up; with
`--related CHILD=FILE`, the parent's and each child's histories judged together against the
rules between them (a coupled audit).

Exit codes: 0 when no event is `illegal` or `unknown` and no error-severity rule is broken,
1 when some is, 2 when the data or the arguments cannot be used (a missing file or column,
a bad duration or time).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from statemachine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    definition_option,
    named_definition,
)

if TYPE_CHECKING:
    from statemachine.audit import Report
    from statemachine.audit.coupled import Coupled, Machine
    from statemachine.model.definition import Definition

__all__ = ["register"]

_ROLES = (
    ("id", "id"),
    ("status", "status"),
    ("at", "at"),
    ("seq", "seq"),
    ("event-id", "event_id"),
)


def register(sub: Any) -> None:
    audit = sub.add_parser(
        "audit",
        help="judge stored status histories (CSV, Parquet, JSON Lines) event by event",
        description=(
            "Judge every stored event as the runtime's replay would (events of an entity "
            "ordered by --seq, then --at, then input order) and sum up verdicts, final "
            "statuses, outcomes and stuck entities. With --related CHILD=FILE the related "
            "machines' events are audited too and the rules between them are judged (a call "
            "started while its batch was paused, a batch completed before its calls, counters "
            "that disagree with the calls). Exit 0: no illegal or unknown event and no "
            "error-severity rule broken; 1: some; 2: unusable data or arguments."
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
    for role, default in _ROLES:
        audit.add_argument(
            f"--{role}",
            dest=f"column_{role.replace('-', '_')}",
            metavar="COL",
            help=f"the column holding the {role.replace('-', ' ')} (default: {default})",
        )
    audit.add_argument(
        "--related",
        action="append",
        default=[],
        metavar="CHILD=FILE",
        help="also audit the related machine CHILD's events in FILE (CSV, Parquet, JSON Lines "
        "or a glob; repeat for more files or machines) and judge the rules between them",
    )
    for role, default in _ROLES:
        audit.add_argument(
            f"--related-{role}",
            dest=f"related_{role.replace('-', '_')}",
            action="append",
            default=[],
            metavar="CHILD=COL",
            help=f"the column of CHILD's data holding the {role.replace('-', ' ')} "
            f"(default: {default})",
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
        help="write one row per event not applied and per stuck entity (.csv or .parquet); "
        "with --related, one row per rule violation (as --violations)",
    )
    audit.add_argument(
        "--violations",
        metavar="FILE",
        help="write one row per rule violation: code, rule, severity, parent_machine, "
        "parent_id, child_machine, child_id, parent_at, child_at, message (.csv or .parquet)",
    )
    audit.set_defaults(run=run)


def _columns(explicit: dict[str, Any]) -> Any:
    from statemachine.audit import Columns

    return Columns(**explicit, explicit=frozenset(explicit))


def _options(args: argparse.Namespace, states: Any) -> Any:
    from datetime import datetime

    from statemachine.audit import Options
    from statemachine.io.loader import parse_duration

    explicit = {
        role: value for _, role in _ROLES if (value := getattr(args, f"column_{role}")) is not None
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
    return Options(_columns(explicit), as_of, limits)


def _pairs(option: str, items: list[str], what: str) -> list[tuple[str, str]]:
    found = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise UsageError(f"{option} {item}: expected CHILD={what}, e.g. dialnexa.call={what}")
        found.append((name, value))
    return found


def _children(args: argparse.Namespace, parent: Definition) -> list[Machine]:
    """The related machines `--related` names, each with its files and columns."""
    from statemachine.audit.coupled import Machine
    from statemachine.audit.data import expand

    files: dict[str, list[str]] = {}
    for name, path in _pairs("--related", args.related, "FILE"):
        if name not in parent.related:
            known = ", ".join(parent.related) or "none"
            raise UsageError(
                f"--related {name}={path}: {parent.name} relates no machine {name!r} "
                f"(it relates: {known}); relations are declared under `related:` in its YAML"
            )
        files.setdefault(name, []).append(path)
    columns: dict[str, dict[str, str]] = {}
    for flag, role in _ROLES:
        for name, column in _pairs(f"--related-{flag}", getattr(args, f"related_{role}"), "COL"):
            if name not in files:
                raise UsageError(
                    f"--related-{flag} {name}={column}: {name} is not audited here; add "
                    f"--related {name}=FILE"
                )
            columns.setdefault(name, {})[role] = column
    return [
        Machine(
            named_definition(name, args.sources),
            tuple(expand(paths)),
            _columns(columns.get(name, {})),
        )
        for name, paths in files.items()
    ]


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from statemachine.audit import InputError, Outputs, render_html
    from statemachine.audit.coupled import Machine, audit_coupled, judged_fields
    from statemachine.audit.data import expand, file_columns
    from statemachine.audit.engines import run as run_engine
    from statemachine.coupled import field_rules_of

    definition = named_definition(args.name, args.sources)
    options = _options(args, definition.states)
    if args.format == "html" and args.output is None:
        raise UsageError("--format html needs -o FILE (one self-contained page)")
    findings = Path(args.findings) if args.findings else None
    try:
        children = _children(args, definition)
        # a coupled audit's findings are its rule violations; a single machine's stay its
        # events'
        rows = [Path(p) for p in (args.violations, args.findings if children else None) if p]
        outputs = Outputs(findings=None if children else findings)
        sources = expand(args.data)  # once: stdin is read once
        judged = bool(children or rows) or (
            bool(field_rules_of(definition))
            and bool(judged_fields(definition, file_columns(sources)))
        )
        result: Report | Coupled
        if judged:
            parent = Machine(definition, tuple(sources), options.columns)
            result = audit_coupled(parent, children, options, args.engine, outputs, rows)
        else:
            result = run_engine(definition, sources, options, args.engine, outputs)
    except InputError as err:
        raise UsageError(str(err)) from None
    if args.format == "json":
        text = json.dumps(result.as_json(), indent=2)
    elif args.format == "html":
        related = [child.definition for child in children]
        text = render_html(definition, result, related)
    else:
        text = result.text()
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return EXIT_FAILED if result.failed else EXIT_OK
