"""`statemachine validate`: one entity's status history step by step, or every delivery in an
event file at once, with the verdicts of the runtime's replay."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from statemachine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    definition_option,
    named_definition,
)

if TYPE_CHECKING:
    from statemachine.runtime import Lifecycle, Verdict

__all__ = ["register"]


def register(sub: Any) -> None:
    validate = sub.add_parser(
        "validate",
        help="check a sequence of statuses as one entity's history, or every history in a file",
        description=(
            "Check STATUS... as one entity's history in its true order, or with --events "
            "every delivery in a file in arrival order, with the verdicts `replay` gives: "
            "applied, skipped (past statuses that never arrived) and repeated pass; a history "
            "that goes backwards (stale), an illegal and an unknown status fail."
        ),
    )
    validate.add_argument("name", metavar="NAME")
    validate.add_argument("statuses", nargs="*", metavar="STATUS")
    validate.add_argument(
        "--events",
        metavar="FILE",
        help="CSV with a header or JSON Lines (- for stdin): id,status and optionally "
        "seq,at,event_id, in arrival order, judged as `replay` judges them (only illegal and "
        "unknown fail); other columns are ignored",
    )
    validate.add_argument(
        "--strict",
        action="store_true",
        help="STATUS...: accept only one legal move per step (no skipped or repeated step)",
    )
    validate.add_argument("--format", choices=["text", "json"], default="text")
    definition_option(validate, "--path")
    validate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.events is not None:
        if args.statuses:
            raise UsageError("give either STATUS... or --events FILE, not both")
        if args.strict:
            raise UsageError("--strict checks STATUS...; --events judges deliveries as replay")
        return _events(args)
    if not args.statuses:
        raise UsageError("give the statuses of one history (STATUS...) or --events FILE")
    if args.format != "text":
        raise UsageError("--format json needs --events FILE")
    return _history(args)


def _note(lc: Lifecycle, verdict: Verdict) -> str:
    """What a passing step did: its trigger, or the states it went through or past."""
    from statemachine.graph import Kind
    from statemachine.runtime import IllegalTransition
    from statemachine.runtime.streams import shown

    through = ["through " + ", ".join(map(shown, verdict.through))] if verdict.through else []
    if verdict.kind is not Kind.APPLIED:
        return f"{verdict.kind}: {verdict.message}"
    if verdict.before is None:
        return ", ".join(["start", *through])
    try:
        move = lc.check(verdict.before, verdict.status)
    except IllegalTransition:  # through unreported states: no one trigger
        return ", ".join(through)
    guard = f" if {' and '.join(move.conditions)}" if move.conditions else ""
    return f"{move.trigger}{guard}"


def _history(args: argparse.Namespace) -> int:
    """One history in its true order, step by step, with the runtime's verdicts."""
    from statemachine.graph import Kind
    from statemachine.runtime import Lifecycle
    from statemachine.runtime.streams import shown

    lc = Lifecycle(named_definition(args.name, args.sources), structural=True)
    # a status ahead past ones that never arrived, or a duplicate, passes unless --strict
    # asks for one legal move per step; `ambiguous` (on a cycle, not one move apart) fails:
    # the graph cannot tell a skip ahead from a step back
    lenient = {Kind.SKIPPED, Kind.REPEATED}
    current: str | None = None
    for index, status in enumerate(args.statuses):
        verdict = lc.classify(current, status)
        before = verdict.before
        step = shown(status) if before is None else f"{shown(before)} -> {shown(status)}"
        # a self-loop makes a repeat one legal move
        loop = (
            verdict.kind is Kind.REPEATED and before is not None and lc.is_allowed(before, before)
        )
        # an informational event is no step: it passes and leaves the status as it was
        fine = verdict.kind in (Kind.APPLIED, Kind.INFORMATIONAL) or loop
        if fine or (verdict.kind in lenient and not args.strict):
            print(f"{index}: {step}  ({_note(lc, verdict)})")
            current = verdict.after
            continue
        why = " (--strict: one legal move per step)" if verdict.kind in lenient else ""
        print(f"{index}: {step}  {verdict.kind.upper()}: {lc.name}: {verdict.message}{why}")
        return EXIT_FAILED
    return EXIT_OK


def _events(args: argparse.Namespace) -> int:
    """Every delivery of a file, judged in arrival order exactly as `replay` judges it."""
    import json

    from statemachine.cli.replay import judged, record, shown_verdict, tally
    from statemachine.graph import Kind
    from statemachine.runtime import Lifecycle
    from statemachine.runtime.streams import counted

    lc = Lifecycle(named_definition(args.name, args.sources), structural=True)
    counts: dict[Kind, int] = dict.fromkeys(Kind, 0)
    seen: set[str] = set()
    noted: list[dict[str, object]] = []
    for line, event, verdict in judged(lc, args.events):
        seen.add(event.id)
        counts[verdict.kind] += 1
        if verdict.kind is Kind.APPLIED:
            continue
        if args.format == "json":
            noted.append({"line": line, **record(event, verdict)})
        else:
            print(shown_verdict(line, event, verdict))
    failed = counts[Kind.ILLEGAL] + counts[Kind.UNKNOWN]
    if args.format == "json":
        report = {
            "machine": lc.name,
            "entities": len(seen),
            "events": sum(counts.values()),
            "verdicts": {str(kind): n for kind, n in counts.items() if n},
            "failed": failed,
            "not_applied": noted,
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        failures = f"{failed} failed (illegal or unknown)"
        print(f"{counted(len(seen), 'entity')}, {tally(counts)}; {failures}")
    return EXIT_FAILED if failed else EXIT_OK
