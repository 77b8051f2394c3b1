"""`statemachine replay`: a file of status deliveries, each with its verdict, and where every
entity ends."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from statemachine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    definition_option,
    named_definition,
)

if TYPE_CHECKING:
    from statemachine.graph import Kind
    from statemachine.io.events import Event
    from statemachine.runtime import Lifecycle, Verdict

__all__ = ["events_of", "judged", "record", "register", "shown_verdict", "tally"]


def register(sub: Any) -> None:
    replay = sub.add_parser(
        "replay",
        help="replay status deliveries (CSV or JSON Lines) and give each its verdict",
        description=(
            "Replay status deliveries in arrival order, many entities interleaved, and print "
            "every delivery that was not applied with its verdict, then each entity's final "
            "status. Exit 0 when nothing is illegal or unknown, 1 otherwise."
        ),
    )
    replay.add_argument("name", metavar="NAME")
    replay.add_argument(
        "file",
        metavar="FILE",
        help="CSV with a header or JSON Lines (- for stdin): id,status and optionally "
        "seq,at,event_id; other columns are ignored",
    )
    definition_option(replay, "--path")
    replay.add_argument("--format", choices=["text", "json"], default="text")
    replay.set_defaults(run=run)


def events_of(path: str, lines: list[int]) -> Iterator[Event]:
    """The events of file `path`, keeping the line of the latest one in `lines[0]`; a bad
    file or row is a usage error."""
    from statemachine.io.events import EventFileError, read_events

    try:
        for line, event in read_events(path):
            lines[0] = line
            yield event
    except EventFileError as err:
        raise UsageError(str(err)) from None
    except OSError as err:
        raise UsageError(f"{path}: cannot read: {err.strerror or err}") from None


def judged(lc: Lifecycle, path: str) -> Iterator[tuple[int, Event, Verdict]]:
    """Each event of file `path` with its line and the verdict replay gives it, in arrival
    order: what `replay` and `validate --events` both report."""
    lines = [0]
    for event, verdict in lc.replay(events_of(path, lines)):
        yield lines[0], event, verdict


def record(event: Event, verdict: Verdict) -> dict[str, object]:
    """One event's verdict as `--format json` gives it."""
    return {
        "id": event.id,
        "status": event.status,
        "verdict": str(verdict.kind),
        "before": verdict.before,
        "after": verdict.after,
        "skipped": list(verdict.skipped),
        "through": list(verdict.through),
        "message": verdict.message,
    }


def shown_verdict(line: int, event: Event, verdict: Verdict) -> str:
    """One event's verdict as a line of text."""
    from statemachine.runtime.streams import shown

    what = f"{shown(event.id)} {shown(event.status)}"
    return f"line {line}: {what}: {verdict.kind}: {verdict.message}"


def tally(counts: dict[Kind, int]) -> str:
    """`12 events: 9 applied, 1 illegal`, the counts of each verdict."""
    from statemachine.runtime.streams import counted

    kinds = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    return f"{counted(sum(counts.values()), 'event')}: {kinds or 'none'}"


def run(args: argparse.Namespace) -> int:
    import json

    from statemachine.graph import Kind
    from statemachine.runtime import Lifecycle
    from statemachine.runtime.streams import counted, shown

    lc = Lifecycle(named_definition(args.name, args.sources), structural=True)
    final: dict[str, str | None] = {}
    counts: dict[Kind, int] = dict.fromkeys(Kind, 0)
    for line, event, verdict in judged(lc, args.file):
        final[event.id] = verdict.after
        counts[verdict.kind] += 1
        if args.format == "json":
            print(json.dumps(record(event, verdict), ensure_ascii=False))
        elif verdict.kind is not Kind.APPLIED:
            print(shown_verdict(line, event, verdict))
    if args.format == "text":
        print(f"final status of {counted(len(final), 'entity')}:")
        for entity, status in final.items():
            print(f"  {shown(entity)}: {'(none)' if status is None else shown(status)}")
    print(f"{counted(len(final), 'entity')}, {tally(counts)}", file=sys.stderr)
    return EXIT_FAILED if counts[Kind.ILLEGAL] or counts[Kind.UNKNOWN] else EXIT_OK
