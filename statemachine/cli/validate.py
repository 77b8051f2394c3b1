"""`statemachine validate`: one entity's status history step by step, or every entity's
history in an event file at once."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from statemachine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    definition_option,
    named_definition,
    structural,
)

if TYPE_CHECKING:
    from statemachine.io.events import Event
    from statemachine.runtime import Lifecycle, Verdict

__all__ = ["register"]


def register(sub: Any) -> None:
    validate = sub.add_parser(
        "validate",
        help="check a sequence of statuses as one entity's history, or every history in a file",
        description=(
            "Check STATUS... as one entity's history, or with --events every entity's history "
            "in a file: each status must be one legal move from the one before (through "
            "statuses the provider never reports), and an entity's first status an entry "
            "state or one legal move from one."
        ),
    )
    validate.add_argument("name", metavar="NAME")
    validate.add_argument("statuses", nargs="*", metavar="STATUS")
    validate.add_argument(
        "--events",
        metavar="FILE",
        help="CSV with a header or JSON Lines (- for stdin): id,status in file order and "
        "optionally seq,at (an entity's history follows seq, else at, when all its rows "
        "have it); other columns are ignored",
    )
    validate.add_argument("--format", choices=["text", "json"], default="text")
    definition_option(validate, "--path")
    validate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.events is not None:
        if args.statuses:
            raise UsageError("give either STATUS... or --events FILE, not both")
        return _events(args)
    if not args.statuses:
        raise UsageError("give the statuses of one history (STATUS...) or --events FILE")
    if args.format != "text":
        raise UsageError("--format json needs --events FILE")
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


def _ordered(rows: list[tuple[int, Event]]) -> list[tuple[int, Event]]:
    """One entity's rows in history order: by seq when all have one, else by event time
    when all have one, else as in the file."""
    from datetime import UTC, datetime

    if all(event.seq is not None for _, event in rows):
        return sorted(rows, key=lambda row: row[1].seq or 0)
    if all(event.at is not None for _, event in rows):
        return sorted(rows, key=lambda row: row[1].at or datetime.min.replace(tzinfo=UTC))
    return rows


def _first_illegal(lc: Lifecycle, rows: list[tuple[int, Event]]) -> tuple[int, int, Verdict] | None:
    """(step, line, verdict) of the first step of a history that is not one legal move."""
    from statemachine.graph import Kind

    current: str | None = None
    for step, (line, event) in enumerate(rows, 1):
        verdict = lc.classify(current, event.status)
        legal = verdict.kind is Kind.APPLIED or (
            verdict.kind is Kind.REPEATED
            and current is not None
            and lc.is_allowed(current, current)
        )
        if not legal:
            return step, line, verdict
        current = verdict.after
    return None


def _events(args: argparse.Namespace) -> int:
    import json

    from statemachine.cli.replay import events_of
    from statemachine.runtime import Lifecycle
    from statemachine.runtime.streams import shown

    lc = Lifecycle(named_definition(args.name, args.sources), structural=True)
    histories: dict[str, list[tuple[int, Event]]] = {}
    lines = [0]
    count = 0
    for event in events_of(args.events, lines):
        histories.setdefault(event.id, []).append((lines[0], event))
        count += 1
    failures = []
    for entity, rows in histories.items():
        found = _first_illegal(lc, _ordered(rows))
        if found is not None:
            failures.append((entity, *found))
    summary = (
        f"{len(histories)} entit{'y' if len(histories) == 1 else 'ies'}, {count} event(s): "
        f"{len(failures)} with an illegal step"
    )
    if args.format == "json":
        report = {
            "machine": lc.name,
            "entities": len(histories),
            "events": count,
            "illegal": [
                {
                    "id": entity,
                    "step": step,
                    "line": line,
                    "before": verdict.before,
                    "status": verdict.status,
                    "verdict": str(verdict.kind),
                    "message": verdict.message,
                }
                for entity, step, line, verdict in failures
            ],
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for entity, step, line, verdict in failures:
            print(f"{shown(entity)}: step {step} (line {line}): {verdict.kind}: {verdict.message}")
        print(summary)
    return EXIT_FAILED if failures else EXIT_OK
