"""`statemachine paths`: ready-made webhook test cases: histories through a machine and the
deliveries a real network makes of them, with the verdicts this engine gives."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from statemachine.cli.common import EXIT_OK, definition_option, named_definition

if TYPE_CHECKING:
    from statemachine.graph.paths import Delivery, History
    from statemachine.runtime import Lifecycle

__all__ = ["register"]


def register(sub: Any) -> None:
    paths = sub.add_parser(
        "paths",
        help="histories to every state and over every move, with network-perturbed deliveries",
        description=(
            "A shortest history to every state and histories covering every move, each as the "
            "provider delivers it (its reported statuses) in order, with a duplicate, two "
            "neighbours swapped, the first status late and a middle status missing, and the "
            "verdicts replay gives each delivery with and without sequence numbers."
        ),
    )
    paths.add_argument("name", metavar="NAME")
    definition_option(paths, "--path")
    paths.add_argument("--format", choices=["text", "json"], default="text")
    paths.set_defaults(run=run)


def _replayed(lc: Lifecycle, delivery: Delivery) -> list[dict[str, Any]]:
    """Each delivered status with its seq and its verdicts with and without the seq."""
    from statemachine.runtime import Event

    keyed = lc.replay(
        Event("case", s, seq) for s, seq in zip(delivery.statuses, delivery.seqs, strict=True)
    )
    bare = lc.replay(Event("case", s) for s in delivery.statuses)
    return [
        {
            "status": event.status,
            "seq": event.seq,
            "verdict": str(with_seq.kind),
            "after": with_seq.after,
            "verdict_without_seq": str(without.kind),
            "after_without_seq": without.after,
        }
        for (event, with_seq), (_, without) in zip(keyed, bare, strict=True)
    ]


def _case(lc: Lifecycle, history: History) -> dict[str, Any]:
    from statemachine.graph.paths import deliveries

    return {
        "states": list(history.states),
        "delivered": list(history.delivered),
        "deliveries": [{"kind": d.kind, "events": _replayed(lc, d)} for d in deliveries(history)],
    }


def _text(title: str, case: dict[str, Any]) -> list[str]:
    from statemachine.runtime.streams import shown

    out = [
        f"  {title}{' > '.join(map(shown, case['states']))}"
        f"   (delivered: {', '.join(map(shown, case['delivered'])) or 'nothing'})"
    ]
    for delivery in case["deliveries"]:
        events = delivery["events"]
        sent = " ".join(f"{shown(e['status'])}#{e['seq']}" for e in events)
        keyed = ", ".join(e["verdict"] for e in events)
        bare = ", ".join(e["verdict_without_seq"] for e in events)
        end, end_bare = events[-1]["after"], events[-1]["after_without_seq"]
        out.append(
            f"      {delivery['kind']:<9} {sent}\n"
            f"                with seq: {keyed} => {shown(str(end))}; "
            f"without: {bare} => {shown(str(end_bare))}"
        )
    return out


def run(args: argparse.Namespace) -> int:
    import json

    from statemachine.graph import graph_of
    from statemachine.graph.paths import covering_histories, shortest_histories
    from statemachine.runtime import Lifecycle

    found = named_definition(args.name, args.sources)
    lc = Lifecycle(found, structural=True)
    graph = graph_of(found)
    shortest = {state: _case(lc, h) for state, h in shortest_histories(graph).items()}
    covering = [_case(lc, h) for h in covering_histories(graph)]
    if args.format == "json":
        report = {"machine": found.name, "shortest": shortest, "covering": covering}
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return EXIT_OK
    print(
        f"{found.name}: {len(found.states)} states, {len(shortest)} reachable; "
        f"{len(covering)} histories cover every move"
    )
    print("\nshortest history to each state (#n: the status's place in the history):")
    for state, case in shortest.items():
        print("\n".join(_text(f"{state}: ", case)))
    print("\nhistories covering every move:")
    for number, case in enumerate(covering, 1):
        print("\n".join(_text(f"{number}. ", case)))
    return EXIT_OK
